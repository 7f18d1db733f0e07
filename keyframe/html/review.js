// keyframe review page: keyboard-first, one request per decision, every string as textContent.
"use strict";
(() => {
  const TOKEN = new URLSearchParams(location.search).get("t") || "";
  const ORDER = ["review", "fix", "trash", "certified", "error", "all"];
  const PAGE = 100, AHEAD = 3;
  const $ = (id) => document.getElementById(id);
  const S = { filter: null, pos: 0, total: 0, pages: new Map(), details: new Map(),
              pre: new Map(), region: -1, history: [], counts: {}, t0: null, busy: false };
  window.kfStats = { latencies: [] };

  const url = (p, q = {}) => {
    const u = new URLSearchParams({ ...q, t: TOKEN });
    return `${p}?${u}`;
  };
  const getJSON = async (p, q) => {
    const r = await fetch(url(p, q), { headers: { "X-Keyframe-Token": TOKEN } });
    if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const post = async (p, body) => {
    const r = await fetch(p, { method: "POST", body: JSON.stringify(body || {}),
      headers: { "X-Keyframe-Token": TOKEN, "Content-Type": "application/json" } });
    if (!r.ok) throw new Error(await r.text());
    return r.json();
  };
  const fail = (e) => {
    document.body.dataset.errors += String(e) + "\n";
    toast(String(e.message || e), true);
  };
  const toast = (text, bad) => {
    const t = $("toast");
    t.textContent = text;
    t.style.color = bad ? "#ef5350" : "#66bb6a";
  };
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };

  async function page(n) {
    if (!S.pages.has(n)) {
      S.pages.set(n, getJSON("/api/queue", { verdict: S.filter, offset: n * PAGE, limit: PAGE })
        .then((d) => { S.total = d.total; S.counts = d.counts; return d; }));
    }
    return S.pages.get(n);
  }
  async function itemAt(pos) {
    const d = await page(Math.floor(pos / PAGE));
    return d.items[pos % PAGE];
  }
  function detail(id) {
    if (!S.details.has(id)) S.details.set(id, getJSON(`/api/item/${id}`));
    return S.details.get(id);
  }
  function preload(id) {
    if (S.pre.has(id)) return S.pre.get(id);
    const im = new Image();
    const done = new Promise((res) => { im.onload = im.onerror = () => res(im); });
    im.src = url(`/img/preview/${id}`);
    S.pre.set(id, done);
    if (S.pre.size > 40) S.pre.delete(S.pre.keys().next().value);
    return done;
  }
  function prefetch() {
    for (let k = 1; k <= AHEAD; k++) {
      for (const p of [S.pos + k, S.pos - 1]) {
        if (p < 0 || p >= S.total) continue;
        itemAt(p).then((it) => { if (it) { detail(it.id); preload(it.id); } }).catch(() => {});
      }
    }
  }

  function drawTabs() {
    const nav = $("tabs");
    nav.replaceChildren();
    ORDER.forEach((v, n) => {
      const b = el("button", `${n + 1} ${v} ${S.counts[v] ?? 0}`, S.filter === v ? "on" : "");
      b.type = "button";
      b.dataset.verdict = v;
      b.onclick = () => setFilter(v);
      nav.append(b);
    });
    $("progress").textContent = `${S.counts.undecided ?? 0} of ${S.counts.all ?? 0} undecided`;
  }

  function drawBoxes(d) {
    const svg = $("boxes");
    svg.replaceChildren();
    if (!d.width || !d.height) return;
    svg.setAttribute("viewBox", `0 0 ${d.width} ${d.height}`);
    d.regions.forEach((r, k) => {
      const [x, y, w, h] = r.region;
      const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      for (const [a, v] of Object.entries({ x, y, width: w, height: h })) rect.setAttribute(a, v);
      rect.setAttribute("class", (k === S.region ? "focus " : "") + (r.level || "info"));
      rect.dataset.code = r.code;
      svg.append(rect);
    });
  }

  function drawSide(d, pos) {
    $("verdict").textContent = d.verdict;
    $("verdict").className = `badge ${d.verdict}`;
    $("quality").textContent = d.quality == null ? "" : `quality ${d.quality.toFixed(1)}`;
    const dec = d.decision;
    $("decision").textContent = dec ? `${dec.decision} · ${dec.reviewer}` : "undecided";
    $("decision").className = `dec ${dec ? dec.decision : ""}`;
    $("pos").textContent = `${pos + 1} / ${S.total}`;
    $("path").textContent = d.path;
    $("reason").textContent = d.error || d.reason;
    const fl = $("findings");
    fl.replaceChildren();
    for (const f of d.findings) {
      const li = el("li");
      li.append(el("span", "", `lv ${f.level}`), el("b", f.code),
                document.createTextNode(` ${f.level} ${f.severity.toFixed(2)}` +
                  (f.fix ? ` → ${f.fix}` : "") + ` — ${f.message}`));
      fl.append(li);
    }
    const plan = $("plan");
    plan.textContent = d.plan.length ? "plan: " + d.plan.map((s) => s.fix).join(" → ") : "";
    const gate = $("gate");
    gate.replaceChildren();
    if (d.gate && d.verdict !== "error") {
      gate.append(el("div", d.gate.steps.length
        ? "gate kept: " + d.gate.steps.map((s) => s.fix).join(" → ") : "gate kept no step"));
      for (const a of d.gate.attempts.filter((a) => !a.kept)) {
        gate.append(el("div", `rolled back ${a.fix}: ${a.reason}`, "path"));
      }
      if (d.gate.package) gate.append(el("div", `package: ${d.gate.package}`, "path"));
    }
    const extra = $("extra");
    extra.replaceChildren();
    for (const s of d.skipped) extra.append(el("li", `skipped ${s.check}: ${s.reason}`));
    for (const n of d.notes) extra.append(el("li", n));
    if (dec && dec.note) extra.append(el("li", `note: ${dec.note}`));
  }

  function drawZoom(d) {
    const z = $("zoom");
    if (S.region < 0 || !d.regions.length) { z.hidden = true; return; }
    const r = d.regions[S.region];
    $("zcode").textContent = `${S.region + 1}/${d.regions.length} ${r.code}`;
    const src = url(`/img/crop/${d.id}/${S.region}`);
    const z1 = $("z1"), z2 = $("z2");
    z1.onload = () => { z2.width = z1.naturalWidth * 2; z2.height = z1.naturalHeight * 2; };
    z1.src = src;
    z2.src = src;
    z.hidden = false;
  }

  function drawGate(d) {
    const isGate = !!(d.gate && d.gate.steps.length);
    $("slider").hidden = !isGate;
    $("before").hidden = !isGate;
    $("mask").hidden = !isGate || !$("maskon").checked;
    $("masknote").textContent = "";
    if (!isGate) return;
    $("before").src = url(`/img/preview/${d.id}`, { which: "before" });
    const m = $("mask");
    m.onerror = () => { m.hidden = true; $("masknote").textContent = "geometry changed: no pixel mask"; };
    m.src = url(`/img/mask/${d.id}`);
    split();
  }
  function split() {
    const v = $("split").value;
    $("before").style.clipPath = `inset(0 ${100 - v}% 0 0)`;
  }

  async function show(pos) {
    if (S.total === 0) { $("empty").hidden = false; $("frame").hidden = true; return; }
    pos = Math.max(0, Math.min(pos, S.total - 1));
    S.pos = pos;
    const it = await itemAt(pos);
    const d = await detail(it.id);
    if (S.pos !== pos) return;            // the user moved on meanwhile
    $("empty").hidden = true;
    $("frame").hidden = false;
    S.region = -1;
    const img = await preload(d.id);
    if (S.pos !== pos) return;
    const main = $("main");
    main.src = img.src;
    try { await main.decode(); } catch (e) { /* an unreadable source: its reason is shown */ }
    drawBoxes(d);
    drawSide(d, pos);
    drawZoom(d);
    drawGate(d);
    document.body.dataset.shown = String(d.id);
    document.body.dataset.pos = String(pos);
    requestAnimationFrame(() => {
      if (S.t0 !== null) {
        window.kfStats.latencies.push(performance.now() - S.t0);
        S.t0 = null;
      }
    });
    prefetch();
  }

  async function setFilter(v) {
    S.filter = v;
    S.pages.clear();
    const d = await page(0);
    drawTabs();
    await show(d.first_undecided ?? 0);
  }

  async function decide(decision, note) {
    if (S.busy || S.total === 0) return;
    S.busy = true;
    try {
      const it = await itemAt(S.pos);
      const r = await post("/api/decide", { id: it.id, decision, note: note || "" });
      it.decision = decision;
      S.details.delete(it.id);
      S.counts = r.counts;
      S.history.push(S.pos);
      drawTabs();
      toast(`${decision} stored: ${it.path}`);
      document.body.dataset.stored = String(r.stored.seq);
      await show(S.pos + 1 < S.total ? S.pos + 1 : S.pos);
    } catch (e) { fail(e); } finally { S.busy = false; }
  }

  async function undo() {
    try {
      const r = await post("/api/undo");
      if (!r.undone) { toast("nothing to undo"); return; }
      S.counts = r.counts;
      S.details.delete(r.id);
      for (const d of S.pages.values()) {
        d.then((p) => p.items.forEach((x) => { if (x.id === r.id) x.decision = null; }));
      }
      drawTabs();
      toast(`undone: ${r.undone.decision} of ${r.undone.path}`);
      const back = S.history.pop();
      await show(back ?? S.pos);
    } catch (e) { fail(e); }
  }

  function openNote() {
    $("note").hidden = false;
    $("notetext").value = "";
    $("notetext").focus();
  }
  function closeNote() { $("note").hidden = true; }

  document.addEventListener("keydown", (ev) => {
    if (!$("note").hidden) {
      if (ev.key === "Escape") closeNote();
      return;                             // typing a note: keys are text
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (handle(ev.key)) ev.preventDefault();
  });
  // the same actions for a pointer (a phone has no keyboard); true when the key is ours
  function handle(k) {
    if (k === "Escape") { $("help").hidden = true; return true; }
    if (k === "?") { $("help").hidden = !$("help").hidden; return true; }
    const go = (p) => { S.t0 = performance.now(); show(p).catch(fail); };
    const act = (d) => { if (!S.busy) { S.t0 = performance.now(); decide(d); } };
    if (k === "k") act("keep");
    else if (k === "t") act("trash");
    else if (k === "f") openNote();
    else if (k === "u") undo();
    else if (k === "ArrowRight") go(S.pos + 1);
    else if (k === "ArrowLeft") go(S.pos - 1);
    else if (k === "z") {
      const id = document.body.dataset.shown;
      detail(Number(id)).then((d) => {
        if (!d.regions.length) { toast("no region in this picture"); return; }
        S.region = (S.region + 1) % d.regions.length;
        drawBoxes(d);
        drawZoom(d);
      });
    } else if (k === "m") { $("maskon").checked = !$("maskon").checked; maskToggle(); }
    else if (k.length === 1 && k >= "1" && k <= "6") setFilter(ORDER[Number(k) - 1]).catch(fail);
    else return false;
    return true;
  }
  for (const b of document.querySelectorAll("footer button[data-key]")) {
    b.onclick = () => { b.blur(); handle(b.dataset.key); };
  }
  function maskToggle() {
    const id = Number(document.body.dataset.shown);
    detail(id).then((d) => { $("mask").hidden = !(d.gate && d.gate.steps.length) || !$("maskon").checked; });
  }
  $("maskon").onchange = maskToggle;
  $("split").oninput = split;
  $("helpbtn").onclick = () => { $("help").hidden = !$("help").hidden; };
  $("notecancel").onclick = closeNote;
  $("noteform").onsubmit = (ev) => {
    ev.preventDefault();
    const text = $("notetext").value.trim();
    if (!text) { $("notetext").focus(); return; }
    closeNote();
    S.t0 = performance.now();
    decide("fix", text);
  };

  (async () => {
    const first = await getJSON("/api/queue", { offset: 0, limit: 1 });
    S.counts = first.counts;
    const start = ORDER.find((v) => (first.counts[v] || 0) > 0) || "all";
    await setFilter(start);
    document.body.dataset.ready = "1";
  })().catch(fail);
})();
