"""`marketo_app`: the fake Marketo instance as a FastAPI app.

    state = MarketoState(limits=Limits(calls=100, per_seconds=1))
    with FakeServer(marketo_app(state, SPECS / "marketo/swagger-mapi.json")) as server:
        crm = MarketoCRM(server.url, state.client_id, SecretStr(state.client_secret))

Routes: the identity endpoint (``/identity/oauth/token``, GET or POST), leads (get by
filter, sync, delete, describe), static lists (Asset API: by name, by id, browse, create,
delete; Lead Database API: add, remove, is member, members), and bulk lead exports. Every
REST call passes the `Gate` first.
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tools.fakes.marketo import _export_api, _leads_api, _lists_api
from tools.fakes.marketo._gate import Gate
from tools.fakes.marketo._http import refused
from tools.fakes.marketo._state import MarketoState, Refused
from tools.fakes.openapi import OpenAPISpec, RequestChecker


@functools.lru_cache(maxsize=4)
def load_spec(path: Path) -> OpenAPISpec:
    """The spec at `path`, read once per process (it is large, and never changes)."""
    return OpenAPISpec.from_files(path)


def marketo_app(state: MarketoState | None = None, spec_path: Path | None = None) -> FastAPI:
    """A fake Marketo serving `state`; with `spec_path`, REST bodies are checked against
    that Swagger file (``swagger-mapi.json``), and what fails is kept in
    ``state.checker.violations``."""
    state = state or MarketoState()
    if spec_path is not None:
        state.checker = RequestChecker(load_spec(spec_path.resolve()))
    api = FastAPI(title="fake Marketo", openapi_url=None, docs_url=None, redoc_url=None)
    api.add_exception_handler(Refused, refused)
    _identity(api, state)
    _leads_api.routes(api, state)
    _lists_api.routes(api, state)
    _export_api.routes(api, state)
    api.add_middleware(Gate, state=state)
    return api


def _identity(api: FastAPI, state: MarketoState) -> None:

    @api.api_route("/identity/oauth/token", methods=["GET", "POST"])
    async def token(request: Request) -> JSONResponse:
        asked = dict(request.query_params)
        if request.method == "POST":
            form = parse_qs((await request.body()).decode(), keep_blank_values=True)
            asked |= {key: values[0] for key, values in form.items()}
        if asked.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "invalid_request",
                                 "error_description": "grant_type must be client_credentials"},
                                status_code=400)
        issued = state.issue_token(asked.get("client_id", ""), asked.get("client_secret", ""))
        if issued is None:
            return JSONResponse({"error": "unauthorized",
                                 "error_description": "Bad client credentials"},
                                status_code=401)
        value, seconds = issued
        return JSONResponse({"access_token": value, "token_type": "bearer",
                             "expires_in": seconds, "scope": "api@fake.marketo"})
