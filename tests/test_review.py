"""keyframe review without a browser: the journal, the server's refusals, decisions flowing on."""
from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from click.testing import CliRunner

from conftest import SAMPLES
from keyframe.cli import main
from keyframe.decisions import Journal, JournalError, read_decisions
from keyframe.manifest import manifest_text
from keyframe.review.pixels import Pixels, changed_mask, crop_box
from keyframe.review.queue import Queue, QueueError
from keyframe.verify import verify
from keyframe_dev.review import Server, synthetic_output

starlette_testclient = pytest.importorskip("starlette.testclient",
                                           reason="httpx (the test extra) not installed")


@pytest.fixture()
def out(tmp_path):
    return synthetic_output(tmp_path, 8, size=(320, 240))


def test_journal_records_undoes_and_survives_a_torn_tail(tmp_path):
    with Journal(tmp_path) as j:
        a = j.record("keep", sha256="a" * 64, path="a.png", reviewer="ana", verdict="review")
        j.record("trash", sha256="b" * 64, path="b.png", reviewer="ana")
        j.record("fix", sha256="a" * 64, path="a.png", reviewer="ana", note="  crop   it ")
        with pytest.raises(JournalError):
            j.record("fix", sha256="c" * 64, path="c.png", reviewer="ana")   # no note
        with pytest.raises(JournalError):
            j.record("approve", sha256="c" * 64, path="c.png", reviewer="ana")
        assert j.effective("a" * 64, "elsewhere.png")["note"] == "crop it"   # by sha256
        assert j.undo(reviewer="ana")["decision"] == "fix"
        assert j.effective("a" * 64, "a.png")["seq"] == a["seq"]       # the keep is back
    with open(tmp_path / "decisions.jsonl", "ab") as fh:              # a kill mid-write
        fh.write(b'{"schema": "keyframe.decision/1", "seq": 4, "deci')
    with Journal(tmp_path) as j:
        with pytest.raises(JournalError, match="another keyframe review"):
            Journal(tmp_path)                                       # one writer at a time
        assert j.torn == 1
        assert {e["decision"] for e in j.current()} == {"keep", "trash"}
        j.record("trash", sha256="a" * 64, path="a.png", reviewer="bo")
    lines = (tmp_path / "decisions.jsonl").read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(l)["schema"] == "keyframe.decision/1"
                                   for l in lines)
    assert read_decisions(tmp_path).effective("a" * 64, "a.png")["reviewer"] == "bo"


def test_queue_orders_review_first_and_pages(out):
    q = Queue(out)
    j = read_decisions(out)
    verdicts = [q.entries[n].verdict for n in q.order]
    assert verdicts == ["review"] * 2 + ["fix"] * 2 + ["trash"] * 2 + ["certified"] * 2
    page = q.page(j, verdict="fix", offset=1, limit=5)
    assert page["total"] == 2 and len(page["items"]) == 1 and page["counts"]["all"] == 8
    with pytest.raises(QueueError):
        Queue(out.parent / "in")


def test_zoom_targets_are_findings_then_evidence_then_faces_and_hands():
    from keyframe.review.queue import _regions
    from keyframe_dev.review import flat_report

    rep = flat_report("a.png", "a" * 64, w=100, h=100, region=[1, 2, 30, 40])
    rep["evidence"]["face_too_small"] = {
        "check": "anatomy", "severity": 0.0, "message": "", "region": [50, 50, 10, 10],
        "measurements": {"face1_x": 50, "face1_y": 50, "face1_w": 10, "face1_h": 10,
                         "face2_x": 5, "face2_y": 6, "face2_w": 7, "face2_h": 8}}
    rep["evidence"]["hand_malformed"] = {
        "check": "anatomy", "severity": 0.4, "message": "", "region": [60, 10, 20, 20],
        "measurements": {"hand1_x": 60, "hand1_y": 10, "hand1_w": 20, "hand1_h": 20}}
    got = [(r["code"], r["region"]) for r in _regions(rep)]
    assert got == [("clipped_highlights", [1, 2, 30, 40]), ("hand_malformed", [60, 10, 20, 20]),
                   ("face 1", [50, 50, 10, 10]), ("face 2", [5, 6, 7, 8])]


def test_crop_and_mask_geometry():
    assert crop_box([100, 100, 40, 20], 1000, 1000) == (90, 95, 150, 125)
    assert crop_box([0, 0, 4000, 10], 1000, 1000)[2] <= 1000
    a = __import__("numpy").zeros((50, 80, 3), "uint8")
    b = a.copy()
    b[10:20, 30:40] = 9
    mask = changed_mask(a, b, 1600)
    assert mask.shape == (50, 80, 4) and (mask[..., 3] > 0).sum() == 100
    assert changed_mask(a, b[:40], 1600) is None        # geometry changed: no mask


def test_server_refuses_without_token_outside_out_and_foreign_hosts(out):
    from keyframe.review.server import make_app

    q = Queue(out)
    j = Journal(out)
    app = make_app(q, j, Pixels(q, max_pixels=None), token="secret-token", reviewer="ana")
    c = starlette_testclient.TestClient(app, base_url="http://127.0.0.1:8000")
    assert c.get("/").status_code == 403
    assert c.get("/?t=wrong").status_code == 403
    assert c.get("/api/queue", headers={"X-Keyframe-Token": "nope"}).status_code == 403
    page = c.get("/?t=secret-token")
    assert page.status_code == 200 and "/assets/review.js?t=secret-token" in page.text
    assert c.get("/api/queue?t=secret-token").json()["total"] == 8
    # a POST needs the token in a header: a form on another site cannot set one
    body = {"id": 0, "decision": "keep"}
    assert c.post("/api/decide?t=secret-token", json=body).status_code == 403
    assert not (out / "decisions.jsonl").read_text()
    ok = c.post("/api/decide", json=body, headers={"X-Keyframe-Token": "secret-token"})
    assert ok.status_code == 200 and ok.json()["stored"]["reviewer"] == "ana"
    (out.parent / "secret.txt").write_text("not yours")
    for path in ("/out/../secret.txt", "/out/..%2Fsecret.txt", "/out/%2e%2e/secret.txt",
                 "/out/thumbs/../../secret.txt"):
        r = c.get(path + "?t=secret-token")
        assert r.status_code in (403, 404) and "not yours" not in r.text, path
    (out / "link.txt").symlink_to(out.parent / "secret.txt")          # a link leading out
    assert c.get("/out/link.txt?t=secret-token").status_code == 403
    assert c.get("/out/report.jsonl?t=secret-token").status_code == 200
    evil = c.get("/api/queue?t=secret-token", headers={"Host": "evil.example:8000"})
    assert evil.status_code == 403                     # DNS rebinding
    assert c.get("/img/preview/0?t=secret-token").headers["content-type"] == "image/jpeg"
    assert c.get("/img/preview/99?t=secret-token").status_code == 404
    assert c.get("/img/crop/0/0?t=secret-token").headers["content-type"] == "image/png"
    j.close()


def test_remote_host_needs_an_explicit_flag_and_warns(out, monkeypatch):
    r = CliRunner().invoke(main, ["review", str(out), "--host", "0.0.0.0", "--no-browser"])
    assert r.exit_code == 2 and "--allow-remote" in r.output
    served = {}
    monkeypatch.setattr("keyframe.cli.review._serve",         # nothing is bound here
                        lambda queue, journal, **kw: (journal.close(), served.update(kw)))
    r = CliRunner().invoke(main, ["review", str(out), "--host", "0.0.0.0", "--no-browser",
                                  "--allow-remote"])
    assert r.exit_code == 0 and "WARNING" in r.output and served["loopback"] is False
    r = CliRunner().invoke(main, ["review", str(out), "--no-browser"])
    assert r.exit_code == 0 and served["host"] == "127.0.0.1" and served["loopback"]


def test_a_killed_server_loses_no_stored_decision(out):
    server = Server(out)
    try:
        items = server.get("/api/queue?limit=8")["items"]
        stored = [server.post("/api/decide", {"id": it["id"], "decision": d, "note": "n"})
                  for it, d in zip(items, ["keep", "trash", "fix", "keep", "keep"])]
        server.post("/api/undo", {})
    finally:
        server.kill9()
    assert server.proc.returncode == -9
    j = read_decisions(out)
    assert [e["seq"] for e in j.entries] == [s["stored"]["seq"] for s in stored] + [5]
    live = {e["path"]: e["decision"] for e in j.current()}
    assert list(live.values()) == ["keep", "trash", "fix", "keep"]    # the last one undone
    again = Server(out)                                 # reopening shows every decision
    try:
        page = again.get("/api/queue?limit=8")
        assert [it["decision"] for it in page["items"]][:4] == ["keep", "trash", "fix", "keep"]
        assert page["counts"]["undecided"] == 4 and page["first_undecided"] == 4
    finally:
        again.stop()


def test_export_route_and_sort_into_follow_the_decisions(tmp_path):
    runner = CliRunner()
    src = tmp_path / "in"
    src.mkdir()
    for name in ("blown_highlights.png", "clean_coffee.png", "noisy.png"):
        shutil.copy(SAMPLES / name, src / name)
    out = tmp_path / "out"
    r = runner.invoke(main, ["triage", str(src), "-o", str(out), "--checks", "artifact"])
    assert r.exit_code == 1, r.output
    q = Queue(out)
    by_name = {e.path.rsplit("/", 1)[-1]: e for e in q.entries}
    assert by_name["blown_highlights.png"].verdict == "review"
    with Journal(out) as j:
        for name, d in (("blown_highlights.png", "keep"), ("clean_coffee.png", "trash")):
            e = by_name[name]
            j.record(d, sha256=e.sha256, path=e.path, reviewer="ana", note="looked")
    routed = runner.invoke(main, ["route", str(out / "report.jsonl")])
    got = {json.loads(l)["path"].rsplit("/", 1)[-1]: json.loads(l)
           for l in routed.stdout.splitlines() if l.startswith("{")}
    assert got["blown_highlights.png"]["verdict"] == "certified"
    assert "kept by ana" in got["blown_highlights.png"]["reason"]
    assert got["clean_coffee.png"]["verdict"] == "trash"
    assert got["noisy.png"]["verdict"] == "fix"                       # no decision: machine
    r = runner.invoke(main, ["triage", str(src), "-o", str(out), "--checks", "artifact",
                             "--sort-into"])
    assert (out / "certified" / "blown_highlights.png").is_symlink()
    assert (out / "trash" / "clean_coffee.png").is_symlink()
    assert not (out / "review" / "blown_highlights.png").exists()
    r = runner.invoke(main, ["review", str(out), "--export", str(tmp_path / "d.csv")])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "d.csv").read_text())))
    assert sorted(r["decision"] for r in rows) == ["keep", "trash"]
    assert rows[0]["reviewer"] == "ana" and rows[0]["at"]
    r = runner.invoke(main, ["review", str(out), "--export", str(tmp_path / "d.jsonl")])
    assert [json.loads(l)["decision"] for l in
            (tmp_path / "d.jsonl").read_text().splitlines()] == ["keep", "trash"]
    r = runner.invoke(main, ["review", str(out), "--export", str(tmp_path / "d.txt")])
    assert r.exit_code == 2


def _keep_all(out, *names):
    q = Queue(out)
    with Journal(out) as j:
        for e in q.entries:
            if e.path.rsplit("/", 1)[-1] in names:
                j.record("keep", sha256=e.sha256, path=e.path, reviewer="ana", note="ok")


def test_certify_approved_packages_kept_triage_pictures_and_verify_guards_the_review(
        tmp_path):
    runner = CliRunner()
    src = tmp_path / "in"
    src.mkdir()
    for name in ("blown_highlights.png", "clean_coffee.png"):
        shutil.copy(SAMPLES / name, src / name)
    out = tmp_path / "out"
    runner.invoke(main, ["triage", str(src), "-o", str(out), "--checks", "artifact"])
    _keep_all(out, "blown_highlights.png")
    r = runner.invoke(main, ["certify", "--approved", str(out), "-o", str(tmp_path / "pk")])
    assert r.exit_code == 0, r.output
    pkg = tmp_path / "pk" / "blown_highlights"
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert manifest["review"]["decision"] == "keep" and manifest["review"]["reviewer"] == "ana"
    assert manifest["forced"] and manifest["verdict"] == "review"       # the person's keep
    assert not (tmp_path / "pk" / "clean_coffee").exists()              # not kept: not packaged
    assert verify(pkg).ok, verify(pkg).problems
    manifest["review"]["reviewer"] = "mallory"                          # edited, layout kept
    (pkg / "manifest.json").write_text(manifest_text(manifest))
    result = verify(pkg, recheck=False)
    assert not result.ok and any("manifest_sha256" in p for p in result.problems)
    assert runner.invoke(main, ["certify", "-o", str(tmp_path / "x")]).exit_code == 2
    (src / "blown_highlights.png").write_bytes((SAMPLES / "noisy.png").read_bytes())
    r = runner.invoke(main, ["certify", "--approved", str(out), "-o", str(tmp_path / "pk2")])
    assert r.exit_code == 1 and "changed since it was reviewed" in r.output


def test_certify_approved_replays_the_gate_recipe(tmp_path):
    runner = CliRunner()
    out = tmp_path / "gate"
    r = runner.invoke(main, ["gate", str(SAMPLES / "checkerboard.png"), "-o", str(out)])
    lines = [json.loads(l) for l in (out / "gate.jsonl").read_text().splitlines()]
    assert [l["verdict"] for l in lines] == ["certified"], r.output
    steps = lines[0]["recipe"]["steps"]
    assert steps and lines[0]["report_before"]["sha256"]
    q = Queue(out)
    assert q.kind == "gate" and q.detail(0, read_decisions(out))["gate"]["steps"] == steps
    px = Pixels(q, max_pixels=None)
    assert px.mask(0) is not None and px.preview(0, "after") is not None
    _keep_all(out, "checkerboard.png")
    r = runner.invoke(main, ["certify", "--approved", str(out), "-o", str(tmp_path / "pk")])
    assert r.exit_code == 0, r.output
    pkg = tmp_path / "pk" / "checkerboard"
    manifest = json.loads((pkg / "manifest.json").read_text())
    assert manifest["recipe"] == steps and manifest["review"]["note"] == "ok"
    gated = json.loads((out / "checkerboard" / "manifest.json").read_text())
    assert manifest["output"]["sha256"] == gated["output"]["sha256"]   # the same pixels
    assert verify(pkg).ok, verify(pkg).problems
