"""The review page's web server: a Starlette app run by uvicorn on a loopback port.

Security, since the page can write decisions and read pictures:

* a random token (:func:`new_token`, 192 bits) is required on **every** request — in the
  ``t`` query parameter (the URL printed and opened) or the ``X-Keyframe-Token`` header —
  and a POST must carry it in the header (a form on another site cannot set one);
  anything else is 403;
* bound to loopback, a request whose ``Host`` is not a loopback name is refused (no DNS
  rebinding);
* only files under OUT and the run's own inputs can be read: OUT's files through
  ``/out/<path>`` (resolved, symlinks included, and refused unless inside OUT), inputs only
  by their index in the queue, never by a path.

Endpoints: ``/`` the page, ``/assets/<name>`` its script and style, ``GET /api/queue`` a
page of the list, ``GET /api/item/<id>`` one picture, ``POST /api/decide`` and
``POST /api/undo`` (answered only after the journal line is fsynced), ``/img/preview/<id>``,
``/img/crop/<id>/<k>``, ``/img/mask/<id>`` and ``/out/<path>``.
"""
from __future__ import annotations

import json
import secrets
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from keyframe.decisions import DECISIONS, Journal, JournalError
from keyframe.image import ImageError
from keyframe.recipe import RecipeError
from keyframe.review.pixels import Pixels
from keyframe.review.queue import Queue

TOKEN_PARAM = "t"
TOKEN_HEADER = "x-keyframe-token"
ASSETS = {"review.js": "text/javascript", "review.css": "text/css"}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")
#: pictures are named by content (index within one run): the browser may keep them
IMAGE_CACHE = {"Cache-Control": "private, max-age=86400"}


def new_token() -> str:
    """A fresh per-run secret for the page's URL."""
    return secrets.token_urlsafe(24)


def _asset(name: str) -> str:
    return resources.files("keyframe").joinpath("html", name).read_text("utf-8")


class TokenGuard:
    """ASGI middleware: the token on every request (header for POST), loopback Host names."""

    def __init__(self, app: ASGIApp, *, token: str, loopback: bool):
        self.app, self.token, self.loopback = app, token.encode(), loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(TOKEN_HEADER.encode(), b"")
        if scope["method"] not in ("POST", "PUT", "DELETE", "PATCH") and not given:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (query.get(TOKEN_PARAM) or [""])[0].encode()
        why = None
        if not secrets.compare_digest(given, self.token):
            why = "forbidden: the page's token is missing or wrong (open the URL keyframe printed)"
        elif self.loopback:
            host = headers.get(b"host", b"").decode("latin-1").rsplit(":", 1)[0]
            if host not in LOOPBACK_NAMES:
                why = f"forbidden: Host {host!r} is not this machine"
        if why:
            await PlainTextResponse(why, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def make_app(queue: Queue, journal: Journal, pixels: Pixels, *, token: str, reviewer: str,
             loopback: bool = True) -> ASGIApp:
    """The review app for one output folder (serve it with uvicorn)."""

    def picture(request: Request) -> int:
        index = request.path_params["id"]
        queue.by_index(index)        # IndexError -> 404
        return index

    def send(path: Path | None) -> Response:
        if path is None:
            return PlainTextResponse("not available for this picture", status_code=404)
        return FileResponse(path, headers=IMAGE_CACHE)

    async def page(request: Request) -> Response:
        return Response(_asset("review.html").replace("__TOKEN__", token),
                        media_type="text/html",
                        headers={"Cache-Control": "no-store",
                                 "Content-Security-Policy": "default-src 'self'; "
                                 "img-src 'self' data:; object-src 'none'"})

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return PlainTextResponse("no such asset", status_code=404)
        return Response(_asset(name), media_type=ASSETS[name])

    def api_queue(request: Request) -> Response:
        q = request.query_params
        try:
            offset, limit = int(q.get("offset", 0)), int(q.get("limit", 100))
        except ValueError:
            return PlainTextResponse("offset and limit are integers", status_code=400)
        data = queue.page(journal, verdict=q.get("verdict"), offset=offset, limit=limit)
        return JSONResponse({**data, "reviewer": reviewer, "kind": queue.kind,
                             "folder": str(queue.out)})

    def api_item(request: Request) -> Response:
        return JSONResponse(queue.detail(picture(request), journal))

    async def api_decide(request: Request) -> Response:
        try:
            body: dict[str, Any] = json.loads(await request.body())
            index, decision = int(body["id"]), str(body["decision"])
            entry = queue.by_index(index)
        except (ValueError, KeyError, TypeError, IndexError):
            return PlainTextResponse("expected JSON {id, decision, note}", status_code=400)
        if decision not in DECISIONS:
            return PlainTextResponse(f"decision must be one of {DECISIONS}", status_code=400)
        try:
            stored = journal.record(decision, sha256=entry.sha256, path=entry.path,
                                    reviewer=reviewer, note=str(body.get("note") or ""),
                                    verdict=entry.verdict, report_sha256=entry.report_sha256)
        except JournalError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        return JSONResponse({"stored": stored, "counts": queue.counts(journal)})

    async def api_undo(request: Request) -> Response:
        undone = journal.undo(reviewer=reviewer)
        if undone is None:
            return JSONResponse({"undone": None})
        return JSONResponse({"undone": undone, "counts": queue.counts(journal),
                             "id": queue.index_of(undone.get("sha256"), undone["path"])})

    def img_preview(request: Request) -> Response:
        return send(pixels.preview(picture(request), request.query_params.get("which", "main")))

    def img_crop(request: Request) -> Response:
        index, k = picture(request), request.path_params["k"]
        regions = queue.detail(index, journal)["regions"]
        if not 0 <= k < len(regions):
            return PlainTextResponse("no such region", status_code=404)
        return send(pixels.crop(index, regions[k]["region"]))

    def img_mask(request: Request) -> Response:
        return send(pixels.mask(picture(request)))

    def out_file(request: Request) -> Response:
        rel = request.path_params["path"]
        target = (queue.out / rel).resolve()
        if not target.is_relative_to(queue.out):
            return PlainTextResponse("refused: outside the output folder", status_code=403)
        if not target.is_file():
            return PlainTextResponse("not a file of this output folder", status_code=404)
        return FileResponse(target, headers=IMAGE_CACHE)

    async def not_found(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"not found: {exc}", status_code=404)

    async def unreadable(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"cannot show this picture: {exc}", status_code=422)

    app = Starlette(routes=[
        Route("/", page),
        Route("/assets/{name}", asset),
        Route("/api/queue", api_queue),
        Route("/api/item/{id:int}", api_item),
        Route("/api/decide", api_decide, methods=["POST"]),
        Route("/api/undo", api_undo, methods=["POST"]),
        Route("/img/preview/{id:int}", img_preview),
        Route("/img/crop/{id:int}/{k:int}", img_crop),
        Route("/img/mask/{id:int}", img_mask),
        Route("/out/{path:path}", out_file),
    ], exception_handlers={IndexError: not_found, ImageError: unreadable,
                           RecipeError: unreadable})
    return TokenGuard(app, token=token, loopback=loopback)
