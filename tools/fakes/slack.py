"""A fake Slack Web API: the few methods mops calls, answered the way Slack answers them.

    state = SlackState(token="xoxb-test", files={"F1": ("leads.csv", b"email\\n…")})
    with FakeServer(slack_app(state)) as server:
        client = WebClient(token="xoxb-test", base_url=f"{server.url}/api/")

Methods (``POST /api/<method>``, JSON, form or query arguments, ``Authorization: Bearer``):
``auth.test``, ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, ``views.open``
and ``files.info``. Like Slack, every answer is HTTP 200 with ``{"ok": false, "error": …}``
on failure (``not_authed``, ``invalid_auth``, ``channel_not_found``, ``message_not_found``,
``invalid_blocks``, ``unknown_method``). A file's ``url_private`` is served at
``GET /files/<id>/<name>`` to the bot token only, and ``POST /respond/<key>`` stands in for
the ``response_url`` of commands and button clicks. Every call is kept in `state.calls`.

Dry runs: ``python -m tools.fakes.slack --port 8002`` (any ``xoxb-`` token).
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

TEXT_LIMIT = 3000          # a section's text, Block Kit's limit
VALUE_LIMIT = 2000         # a button's value
BLOCKS_LIMIT = 50          # blocks in one message


@dataclass
class Call:
    """One call to the fake: the method (or ``respond``) and its arguments."""

    method: str
    args: dict[str, Any]


@dataclass
class SlackState:
    """What the fake Slack holds: its token, channels, messages, files, and every call."""

    token: str | None = "xoxb-test"        # None: any xoxb- token is accepted
    channels: set[str] = field(default_factory=lambda: {"C0MOPS"})
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)   # id -> (name, bytes)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every call to `method`, oldest first."""
        with self.lock:
            return [c.args for c in self.calls if c.method == method]

    def next_ts(self) -> str:
        """A message timestamp, unique and increasing, as Slack writes them."""
        return f"1700000000.{next(self._ts):06d}"


class _Error(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


def slack_app(state: SlackState) -> FastAPI:
    """The fake Slack Web API over `state`."""
    app = FastAPI(title="fake Slack", openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/api/{method}")
    @app.get("/api/{method}")
    async def call(method: str, request: Request) -> Response:
        args = await _arguments(request)
        with state.lock:
            state.calls.append(Call(method, args))
        try:
            _authorize(state, request)
            handler = METHODS.get(method)
            if handler is None:
                raise _Error("unknown_method")
            with state.lock:
                answer = handler(state, args, str(request.base_url).rstrip("/"))
        except _Error as error:
            answer = {"ok": False, "error": error.code}
        return JSONResponse(answer)

    @app.get("/files/{file_id}/{name}")
    def download(file_id: str, name: str, request: Request) -> Response:
        try:
            _authorize(state, request)
        except _Error:
            return Response(status_code=403)
        found = state.files.get(file_id)
        if found is None or found[0] != name:
            return Response(status_code=404)
        return Response(found[1], media_type="text/csv")

    @app.post("/respond/{key}")
    async def respond(key: str, request: Request) -> Response:
        args = await _arguments(request)
        with state.lock:
            state.calls.append(Call("respond", {"key": key, **args}))
        return Response("ok", media_type="text/plain")

    return app


async def _arguments(request: Request) -> dict[str, Any]:
    """A call's arguments from its query, form or JSON body, as Slack accepts them."""
    args: dict[str, Any] = dict(request.query_params)
    raw = await request.body()
    if not raw:
        return args
    if request.headers.get("content-type", "").startswith("application/json"):
        body = json.loads(raw)
        return {**args, **(body if isinstance(body, dict) else {})}
    form = await request.form()
    return {**args, **{k: v for k, v in form.items() if isinstance(v, str)}}


def _authorize(state: SlackState, request: Request) -> None:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        raise _Error("not_authed")
    token = header.removeprefix("Bearer ")
    if (state.token is not None and token != state.token) or not token.startswith("xoxb-"):
        raise _Error("invalid_auth")


def _auth_test(state: SlackState, args: dict[str, Any], base: str) -> dict[str, Any]:
    return {"ok": True, "url": "https://mops-test.slack.com/", "team": "mops test",
            "user": "mops", "team_id": "T0MOPS", "user_id": "U0MOPSBOT", "bot_id": "B0MOPS"}


def _post_message(state: SlackState, args: dict[str, Any], base: str) -> dict[str, Any]:
    channel = _channel(state, args)
    _check_blocks(args)
    ts = state.next_ts()
    message = {"ts": ts, "text": args.get("text", ""), "blocks": _blocks(args),
               "thread_ts": args.get("thread_ts"), "type": "message", "bot_id": "B0MOPS"}
    if message["thread_ts"] is not None and (channel, message["thread_ts"]) not in state.messages:
        raise _Error("thread_not_found")
    state.messages[(channel, ts)] = message
    return {"ok": True, "channel": channel, "ts": ts, "message": message}


def _update(state: SlackState, args: dict[str, Any], base: str) -> dict[str, Any]:
    channel = _channel(state, args)
    message = state.messages.get((channel, str(args.get("ts"))))
    if message is None:
        raise _Error("message_not_found")
    _check_blocks(args)
    message.update(text=args.get("text", message["text"]), blocks=_blocks(args), edited=True)
    return {"ok": True, "channel": channel, "ts": message["ts"], "text": message["text"]}


def _post_ephemeral(state: SlackState, args: dict[str, Any], base: str) -> dict[str, Any]:
    _channel(state, args)
    if not args.get("user"):
        raise _Error("user_not_in_channel")
    return {"ok": True, "message_ts": state.next_ts()}


def _views_open(state: SlackState, args: dict[str, Any], base: str) -> dict[str, Any]:
    if not args.get("trigger_id"):
        raise _Error("invalid_trigger_id")
    view = args.get("view")
    view = json.loads(view) if isinstance(view, str) else view
    if not isinstance(view, dict) or view.get("type") != "modal":
        raise _Error("invalid_arguments")
    return {"ok": True, "view": {"id": "V0MOPS", **view}}


def _files_info(state: SlackState, args: dict[str, Any], base: str) -> dict[str, Any]:
    file_id = str(args.get("file", ""))
    if file_id not in state.files:
        raise _Error("file_not_found")
    name, content = state.files[file_id]
    url = f"{base}/files/{file_id}/{name}"
    return {"ok": True, "file": {"id": file_id, "name": name, "title": name,
                                 "filetype": name.rsplit(".", 1)[-1], "size": len(content),
                                 "url_private": url, "url_private_download": url}}


METHODS = {
    "auth.test": _auth_test,
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "chat.postEphemeral": _post_ephemeral,
    "views.open": _views_open,
    "files.info": _files_info,
}


def _channel(state: SlackState, args: dict[str, Any]) -> str:
    channel = str(args.get("channel", ""))
    if channel not in state.channels:
        raise _Error("channel_not_found")
    return channel


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks") or []
    parsed = json.loads(blocks) if isinstance(blocks, str) else blocks
    return list(parsed)


def _check_blocks(args: dict[str, Any]) -> None:
    """The limits Slack enforces with ``invalid_blocks``, for what mops sends."""
    if not args.get("text") and not args.get("blocks"):
        raise _Error("no_text")
    blocks = _blocks(args)
    if len(blocks) > BLOCKS_LIMIT:
        raise _Error("invalid_blocks")
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        fields = [f.get("text", "") for f in block.get("fields", [])]
        if len(text) > TEXT_LIMIT or any(len(f) > 2000 for f in fields) or len(fields) > 10:
            raise _Error("invalid_blocks")
        for element in block.get("elements", []):
            if len(str(element.get("value", ""))) > VALUE_LIMIT:
                raise _Error("invalid_blocks")


def main(argv: list[str] | None = None) -> None:
    """Serve the fake Slack until interrupted."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m tools.fakes.slack",
                                     description="A fake Slack Web API for dry runs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--channel", action="append", default=None,
                        help="a channel id to accept (repeatable); default C0MOPS")
    args = parser.parse_args(argv)
    state = SlackState(token=None, channels=set(args.channel or ["C0MOPS"]))
    uvicorn.run(slack_app(state), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
