"""The fake's HTTP face: the REST resources the Salesforce adapter calls, in their shapes.

    GET    /services/data/vXX.X/query?q=SOQL             (and /query/{locator}-{offset})
    GET    /services/data/vXX.X/sobjects/{type}/describe
    GET    /services/data/vXX.X/limits
    POST   /services/data/vXX.X/composite/sobjects                         create
    PATCH  /services/data/vXX.X/composite/sobjects                         update by id
    PATCH  /services/data/vXX.X/composite/sobjects/{type}/{externalIdField} upsert
    DELETE /services/data/vXX.X/composite/sobjects?ids=...&allOrNone=false

Every request needs ``Authorization: Bearer <token>`` (else 401 INVALID_SESSION_ID) and
counts against the daily limit (past it, 403 REQUEST_LIMIT_EXCEEDED). Bodies are checked
against the documented shapes (`_schema.CollectionRequest`); a request refused as a whole
answers Salesforce's error array ``[{"message": ..., "errorCode": ...}]``. Collections take
at most 200 records (400 EXCEEDED_ID_LIMIT beyond). Per-record failures answer 200 with
``success: false`` in that record's entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from tools.fakes.salesforce._errors import ApiError, ItemError
from tools.fakes.salesforce._org import Row
from tools.fakes.salesforce._schema import (
    SCHEMA,
    CollectionRequest,
    ObjectSpec,
    object_spec,
)
from tools.fakes.salesforce._soql import SoqlError, parse
from tools.fakes.salesforce._state import SalesforceState

PREFIX = "/services/data/{version}"
_VERSION = re.compile(r"v\d{2}\.\d")
_ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled "
                "back because not all records were valid and the request was using AllOrNone "
                "header", "fields": []}

Result = dict[str, Any]


def salesforce_app(state: SalesforceState) -> FastAPI:
    """A FastAPI app serving the fake org `state` (run it with `FakeServer` or uvicorn)."""
    app = FastAPI(title="fake Salesforce", openapi_url=None, docs_url=None, redoc_url=None)
    _errors(app)

    def enter(request: Request, version: str, call: str) -> None:
        if not _VERSION.fullmatch(version):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        target = request.url.path + ("?" + request.url.query if request.url.query else "")
        if len(target.encode()) > state.limits.max_uri:
            raise state.refuse(ApiError(414, "URI_TOO_LONG", "URI Too Long"))
        state.admit(request.headers.get("authorization"), call)

    @app.get(PREFIX + "/query")
    async def query(request: Request, version: str, q: str = "") -> Response:
        with state.lock:
            enter(request, version, "GET /query")
            return _answer(state, _run_query(state, version, q))

    @app.get(PREFIX + "/query/{locator}-{offset}")
    async def more(request: Request, version: str, locator: str, offset: int) -> Response:
        with state.lock:
            enter(request, version, "GET /query/next")
            return _answer(state, _page(state, version, locator, state.cursor(locator), offset))

    @app.get(PREFIX + "/sobjects/{sobject}/describe")
    async def describe(request: Request, version: str, sobject: str) -> Response:
        with state.lock:
            enter(request, version, "GET /sobjects/describe")
            spec = object_spec(sobject)
            if spec is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return _answer(state, _describe(spec))

    @app.get(PREFIX + "/limits")
    async def limits(request: Request, version: str) -> Response:
        with state.lock:
            enter(request, version, "GET /limits")
            most = state.limits.daily_requests or 0
            remaining = max(0, most - state.used())
            return _answer(state, {"DailyApiRequests": {"Max": most, "Remaining": remaining}})

    async def write(request: Request, version: str, call: str,
                    upsert_to: tuple[str, str] | None = None) -> Response:
        raw = await request.body()
        with state.lock:
            enter(request, version, call)
            target = _upsert_target(*upsert_to) if upsert_to else None
            body = _collection(state, raw)
            items = _items(state, body, target[0] if target else None)
            if target is not None:
                writer = _upserter(state, target[1])
            elif request.method == "PATCH":
                _no_repeats(items)
                writer = _updater(state)
            else:
                writer = _creator(state)
            return _answer(state, _save(state, body.allOrNone, items, writer))

    @app.post(PREFIX + "/composite/sobjects")
    async def create(request: Request, version: str) -> Response:
        return await write(request, version, "POST /composite/sobjects")

    @app.patch(PREFIX + "/composite/sobjects")
    async def update(request: Request, version: str) -> Response:
        return await write(request, version, "PATCH /composite/sobjects")

    @app.patch(PREFIX + "/composite/sobjects/{sobject}/{external}")
    async def upsert(request: Request, version: str, sobject: str, external: str) -> Response:
        return await write(request, version, "PATCH /composite/sobjects/upsert",
                           (sobject, external))

    @app.delete(PREFIX + "/composite/sobjects")
    async def delete(request: Request, version: str, ids: str = "",
                     allOrNone: str = "false") -> Response:  # noqa: N803 (the wire name)
        with state.lock:
            enter(request, version, "DELETE /composite/sobjects")
            wanted = [i for i in ids.split(",") if i]
            if not wanted:
                raise ApiError(400, "MISSING_ARGUMENT", "ids not specified")
            _check_size(state, len(wanted))
            # The ids may be of any type: the deleter finds each one's object by its prefix.
            items: list[Item] = [(SCHEMA["Contact"], {"Id": i}) for i in wanted]
            return _answer(state, _save(state, allOrNone.lower() == "true", items,
                                        _deleter(state)))

    return app


# --- queries ------------------------------------------------------------------------------

def _run_query(state: SalesforceState, version: str, soql: str) -> dict[str, Any]:
    try:
        parsed = parse(soql)
    except SoqlError as exc:
        raise ApiError(400, exc.code, str(exc)) from None
    rows = state.org.select(parsed)
    if parsed.counts:
        return {"totalSize": len(rows), "done": True, "records": []}
    records = [_project(state, version, parsed.object, parsed.fields, row) for row in rows]
    if len(records) <= state.limits.query_batch:
        return {"totalSize": len(records), "done": True, "records": records}
    return _page(state, version, state.open_cursor(records), records, 0)


def _page(state: SalesforceState, version: str, locator: str, records: list[dict[str, Any]],
          offset: int) -> dict[str, Any]:
    end = offset + state.limits.query_batch
    page: dict[str, Any] = {"totalSize": len(records), "done": end >= len(records),
                            "records": records[offset:end]}
    if end < len(records):
        page["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{end}"
    return page


def _project(state: SalesforceState, version: str, spec: ObjectSpec, fields: tuple[str, ...],
             row: Row) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": _attributes(version, spec.name, str(row["Id"]))}
    for name in fields:
        relation, _, child = name.rpartition(".")
        if not relation:
            out[name] = row.get(name)
            continue
        parent = state.org.parent(spec, row, relation)
        if parent is None:
            out[relation] = None
        else:
            nested = out.setdefault(relation, {
                "attributes": _attributes(version, relation, str(parent["Id"]))})
            nested[child] = parent.get(child)
    return out


def _attributes(version: str, sobject: str, record_id: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/{version}/sobjects/{sobject}/{record_id}"}


def _describe(spec: ObjectSpec) -> dict[str, Any]:
    return {"name": spec.name, "label": spec.name, "keyPrefix": spec.prefix, "fields": [
        {"name": f.name, "label": f.label, "type": f.type, "length": f.length,
         "createable": f.createable, "updateable": f.updateable, "nillable": not f.required,
         "externalId": f.external_id, "unique": f.external_id,
         "referenceTo": [f.reference_to] if f.reference_to else []}
        for f in spec.fields
    ]}


# --- writes -------------------------------------------------------------------------------

Item = tuple[ObjectSpec, Row]


def _collection(state: SalesforceState, raw: bytes) -> CollectionRequest:
    try:
        body = CollectionRequest.model_validate_json(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ApiError(400, "JSON_PARSER_ERROR", f"{error['msg']} at [{where}]") from None
    _check_size(state, len(body.records))
    return body


def _check_size(state: SalesforceState, size: int) -> None:
    state.note_batch(size)
    if size > state.limits.max_records:
        raise state.refuse(ApiError(
            400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than "
            f"{state.limits.max_records} records into this call"))


def _items(state: SalesforceState, body: CollectionRequest,
           only: ObjectSpec | None) -> list[Item]:
    """Each record's object and cleaned values; a bad type or field refuses them all."""
    items: list[Item] = []
    for record in body.records:
        spec = object_spec(record.attributes.type)
        if spec is None:
            raise ApiError(400, "INVALID_TYPE",
                           f"sObject type '{record.attributes.type}' is not supported.")
        if only is not None and spec is not only:
            raise ApiError(400, "INVALID_TYPE", f"The type {spec.name} does not match the "
                           f"type in the URI: {only.name}")
        items.append((spec, state.org.clean(spec, record.values())))
    return items


def _no_repeats(items: list[Item]) -> None:
    seen: set[object] = set()
    for _, values in items:
        record_id = values.get("Id")
        if record_id is not None and record_id in seen:
            raise ApiError(400, "INVALID_FIELD", f"Duplicate id in list: {record_id}")
        seen.add(record_id)


def _save(state: SalesforceState, all_or_none: bool, items: list[Item],
          write: Callable[[ObjectSpec, Row], Result]) -> list[Result]:
    """Write each item; with allOrNone, undo them all if one fails."""
    saved = state.org.snapshot() if all_or_none else None
    results: list[Result] = []
    for spec, values in items:
        try:
            results.append({**write(spec, dict(values)), "success": True, "errors": []})
        except ItemError as exc:
            results.append({"success": False, "errors": [exc.entry()]})
    if saved is not None and not all(r["success"] for r in results):
        state.org.restore(saved)
        results = [r if not r["success"] else {"success": False, "errors": [_ROLLED_BACK]}
                   for r in results]
    return results


def _creator(state: SalesforceState) -> Callable[[ObjectSpec, Row], Result]:
    return lambda spec, values: {"id": state.org.insert(spec, values)}


def _updater(state: SalesforceState) -> Callable[[ObjectSpec, Row], Result]:
    return lambda spec, values: {"id": state.org.update(spec, values)}


def _upserter(state: SalesforceState, field: str) -> Callable[[ObjectSpec, Row], Result]:
    def write(spec: ObjectSpec, values: Row) -> Result:
        if "Id" in values:
            raise ItemError("INVALID_FIELD", "Id is not allowed in an upsert by external id")
        record_id, created = state.org.upsert(spec, field, values)
        return {"id": record_id, "created": created}
    return write


def _deleter(state: SalesforceState) -> Callable[[ObjectSpec, Row], Result]:
    def write(_: ObjectSpec, values: Row) -> Result:
        record_id = str(values["Id"])
        state.org.delete(record_id)
        return {"id": record_id}
    return write


def _upsert_target(sobject: str, external: str) -> tuple[ObjectSpec, str]:
    spec = object_spec(sobject)
    if spec is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    field = spec.field(external)
    if field is None or not field.external_id:
        raise ApiError(400, "INVALID_FIELD", f"Field {external} is not an external id field "
                       f"of {spec.name}")
    return spec, field.name


# --- answers and errors -------------------------------------------------------------------

def _answer(state: SalesforceState, body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers={"Sforce-Limit-Info": state.usage()})


def _error(status: int, code: str, message: str) -> Response:
    body = [{"message": message, "errorCode": code}]
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _errors(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _error(exc.status, exc.code, exc.message)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            return _error(405, "METHOD_NOT_ALLOWED", "HTTP Method is not allowed")
        return _error(exc.status_code, "NOT_FOUND", "The requested resource does not exist")

    async def bad_request(_: Request, exc: Exception) -> Response:
        return _error(400, "MALFORMED_QUERY", f"malformed request: {exc}")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, bad_request)
