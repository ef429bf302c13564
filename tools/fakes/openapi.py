"""Check requests against a vendor's official OpenAPI 3 or Swagger 2 document.

The fakes use this to refuse what the real API would refuse for its shape: a request whose
method and path are not an operation of the spec, or whose JSON body does not validate
against the operation's schema (``requestBody.content.application/json.schema`` in
OpenAPI 3, the ``in: body`` parameter in Swagger 2), with every ``$ref`` resolved inside
its own document.

    spec = OpenAPISpec.from_files(specs / "hubspot/contacts.json", specs / "hubspot/lists.json")
    problems = spec.check("POST", "/crm/v3/objects/contacts/batch/read", body)   # [] if fine

`RequestChecker` wraps a spec (or none: checking off) and keeps every problem it found, so a
test can assert at the end that an adapter never sent a wrong shape, even where the adapter
coped with the fake's 400.

Schemas are checked as JSON Schema draft 4 (what OpenAPI 3.0 and Swagger 2 extend; 3.1 uses
2020-12), with OpenAPI's ``nullable`` / ``x-nullable`` read as "or null". Formats are not
checked: the vendors' own servers are lax about them.

Speed: a fake checks every body, and `jsonschema` takes about 12 ms for a batch of 100
contacts, which would make the fake, not the adapter, the bottleneck of a throughput bench.
So a draft 4 body is first checked by a validator `fastjsonschema` compiles (once, on first
use of the operation): about 0.5 ms. Only a body it refuses goes through `jsonschema`, whose
messages say what is wrong, and whose verdict stands.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import fastjsonschema

# No stubs for jsonschema here; its validators are typed as Any below.
from jsonschema import (  # type: ignore[import-untyped, unused-ignore]
    Draft4Validator,
    Draft202012Validator,
)
from referencing import Registry
from referencing.jsonschema import DRAFT4, DRAFT202012

DRAFT4_URI = "http://json-schema.org/draft-04/schema#"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_PROBLEMS = 5


class Body(Enum):
    """`NONE`: a request without a body (distinct from a JSON ``null``)."""

    NONE = "none"


@dataclass(frozen=True)
class Operation:
    """One operation of a spec: where it lives and how to check its body."""

    method: str                  # upper case
    template: str                # e.g. /crm/v3/lists/{listId}/memberships/add
    operation_id: str | None
    body_required: bool
    validator: Any               # a jsonschema validator; None: no JSON body to check
    # The same schema for `fastjsonschema` (draft 4 documents only); None: no fast path.
    fast_schema: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @cached_property
    def _fast(self) -> Any:
        if self.fast_schema is None:
            return None
        try:
            # No handlers: a `$ref` to another document is never fetched from the network.
            return fastjsonschema.compile(self.fast_schema, handlers={}, use_formats=False)
        except Exception:   # noqa: BLE001 - any schema it cannot compile: jsonschema alone
            return None

    def check_body(self, body: Any) -> list[str]:
        """What is wrong with `body` for this operation; empty if nothing."""
        if body is Body.NONE:
            return ["a request body is required"] if self.body_required else []
        if self.validator is None:
            return []   # no JSON schema (no body, or not JSON): nothing to check
        if self._fast is not None:
            try:
                self._fast(body)
                return []
            except fastjsonschema.JsonSchemaException:
                pass    # jsonschema says what is wrong, if it agrees
        errors = sorted(self.validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        return [_describe(error) for error in errors[:MAX_PROBLEMS]]


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    rank: tuple[int, int]     # fewer templated segments first, then longer literals
    operation: Operation


class OpenAPISpec:
    """The operations of one or more OpenAPI 3 / Swagger 2 documents, by method and path."""

    def __init__(self, documents: Sequence[Mapping[str, Any]]) -> None:
        self._routes: list[_Route] = []
        self._prefixes: set[str] = {""}
        for number, document in enumerate(documents):
            self._add(f"urn:mops:spec:{number}", document)
        self._routes.sort(key=lambda route: route.rank)

    @classmethod
    def from_files(cls, *paths: Path) -> OpenAPISpec:
        """A spec from JSON files (each a whole OpenAPI or Swagger document)."""
        return cls([json.loads(path.read_text(encoding="utf-8")) for path in paths])

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation serving `method` on `path` (a concrete path, no query), if any."""
        method = method.upper()
        for candidate in self._candidates(path):
            for route in self._routes:
                if route.operation.method == method and route.pattern.fullmatch(candidate):
                    return route.operation
        return None

    def check(self, method: str, path: str, body: Any = Body.NONE) -> list[str]:
        """What is wrong with this request for the spec; empty if nothing.

        `body` is the parsed JSON body, or `Body.NONE` when the request has none.
        """
        operation = self.operation(method, path)
        if operation is None:
            return [f"{method.upper()} {path} is not an operation of the spec"]
        return operation.check_body(body)

    def _candidates(self, path: str) -> Iterator[str]:
        for prefix in sorted(self._prefixes, key=len, reverse=True):
            if prefix and path.startswith(prefix + "/"):
                yield path[len(prefix):]
        yield path

    def _add(self, uri: str, document: Mapping[str, Any]) -> None:
        swagger2 = str(document.get("swagger", "")).startswith("2")
        modern = str(document.get("openapi", "")).startswith("3.1")
        contents = _with_nullable(document)
        spec = DRAFT202012 if modern else DRAFT4
        registry: Registry[Any] = Registry().with_resource(uri, spec.create_resource(contents))
        kind = Draft202012Validator if modern else Draft4Validator
        self._prefixes |= _prefixes(document)
        # fastjsonschema rewrites `$ref`s in place as it compiles: its own copy.
        private = copy.deepcopy(contents) if not modern else {}
        for template, item in (document.get("paths") or {}).items():
            shared = item.get("parameters", [])
            for method in METHODS:
                op = item.get(method)
                if not isinstance(op, Mapping):
                    continue
                if swagger2:
                    where, required = _swagger_body(contents, template, method, shared, op)
                else:
                    where, required = _openapi_body(contents, template, method, op)
                validator = (kind({"$ref": f"{uri}#{where}"}, registry=registry)
                             if where is not None else None)
                fast = ({**private, "$schema": DRAFT4_URI, "$ref": f"#{where}"}
                        if where is not None and not modern else None)
                operation = Operation(method.upper(), template, op.get("operationId"),
                                      required, validator, fast)
                self._routes.append(_route(template, operation))


@dataclass(frozen=True)
class Violation:
    """A request that did not match the spec."""

    method: str
    path: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}: " + "; ".join(self.problems)


@dataclass
class RequestChecker:
    """Checks requests against `spec` (None: checking is off) and keeps what failed."""

    spec: OpenAPISpec | None
    violations: list[Violation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, method: str, path: str, body: Any = Body.NONE) -> list[str]:
        """The request's problems (also recorded in `violations`); empty if none."""
        if self.spec is None:
            return []
        problems = self.spec.check(method, path, body)
        if problems:
            with self._lock:
                self.violations.append(Violation(method.upper(), path, tuple(problems)))
        return problems


# --- reading the documents ---------------------------------------------------------------

def _pointer(*parts: str) -> str:
    """A JSON pointer (``/a/b~1c``) from raw keys."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _openapi_body(document: Mapping[str, Any], template: str, method: str,
                  op: Mapping[str, Any]) -> tuple[str | None, bool]:
    """Where the JSON body schema of an OpenAPI 3 operation is, and whether it is required."""
    where = ["paths", template, method, "requestBody"]
    body = op.get("requestBody")
    if not isinstance(body, Mapping):
        return None, False
    if "$ref" in body:   # #/components/requestBodies/Name
        where = [part.replace("~1", "/").replace("~0", "~")
                 for part in body["$ref"].lstrip("#/").split("/")]
        body = _at(document, where)
    content = body.get("content") or {}
    media = _json_media(content)
    if media is None or "schema" not in content[media]:
        return None, bool(body.get("required"))
    return _pointer(*where, "content", media, "schema"), bool(body.get("required"))


def _swagger_body(document: Mapping[str, Any], template: str, method: str,
                  shared: Sequence[Mapping[str, Any]], op: Mapping[str, Any],
                  ) -> tuple[str | None, bool]:
    """Where the ``in: body`` schema of a Swagger 2 operation is, and whether it is required."""
    own = op.get("parameters", [])
    for index, parameter in enumerate(own):
        if _resolve(document, parameter).get("in") == "body":
            return (_pointer("paths", template, method, "parameters", str(index), "schema"),
                    bool(_resolve(document, parameter).get("required")))
    for index, parameter in enumerate(shared):
        if _resolve(document, parameter).get("in") == "body":
            return (_pointer("paths", template, "parameters", str(index), "schema"),
                    bool(_resolve(document, parameter).get("required")))
    return None, False


def _resolve(document: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return node
    return _at(document, [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")])


def _at(document: Mapping[str, Any], parts: Sequence[str]) -> Mapping[str, Any]:
    node: Any = document
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return dict(node)


def _json_media(content: Mapping[str, Any]) -> str | None:
    if "application/json" in content:
        return "application/json"
    return next((media for media in content if "json" in media or media == "*/*"), None)


def _prefixes(document: Mapping[str, Any]) -> set[str]:
    """Path prefixes the operations sit under: Swagger's basePath, OpenAPI servers' paths."""
    found = {str(document.get("basePath", "")).rstrip("/")}
    for server in document.get("servers") or []:
        found.add(urlsplit(str(server.get("url", ""))).path.rstrip("/"))
    return found


def _route(template: str, operation: Operation) -> _Route:
    regex, templated, literal = "", 0, 0
    for piece in re.split(r"(\{[^}/]+\})", template):
        if piece.startswith("{") and piece.endswith("}"):
            regex += "[^/]+"
            templated += 1
        else:
            regex += re.escape(piece)
            literal += len(piece)
    return _Route(re.compile(regex), (templated, -literal), operation)


def _with_nullable(node: Any) -> Any:
    """A copy of `node` with ``nullable: true`` (and ``x-nullable``) as JSON Schema's null."""
    if isinstance(node, list):
        return [_with_nullable(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    copy = {key: _with_nullable(value) for key, value in node.items()}
    if (copy.get("nullable") is True or copy.get("x-nullable") is True) and "type" in copy:
        kinds = copy["type"] if isinstance(copy["type"], list) else [copy["type"]]
        copy["type"] = [*kinds, "null"] if "null" not in kinds else kinds
        if "enum" in copy and None not in copy["enum"]:
            copy["enum"] = [*copy["enum"], None]
    return copy


def _describe(error: Any) -> str:   # a jsonschema.ValidationError
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
    return f"body{where}: {message}"
