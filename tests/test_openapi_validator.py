"""The shared request checker of the fakes: OpenAPI 3 and Swagger 2, `$ref`s resolved."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.fakes.openapi import Body, OpenAPISpec, RequestChecker

SPECS = Path(__file__).resolve().parents[2] / "shared/specs"

OPENAPI3: dict[str, Any] = {
    "openapi": "3.0.1",
    "servers": [{"url": "https://api.example.com/api"}],
    "paths": {
        "/things/batch": {"post": {
            "operationId": "batch",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Batch"}}}},
        }},
        "/things/{id}": {
            "get": {"operationId": "get-one"},
            "patch": {"requestBody": {"$ref": "#/components/requestBodies/Patch"}},
        },
        "/things/special": {"get": {"operationId": "special"}},
    },
    "components": {
        "schemas": {
            "Batch": {"type": "object", "required": ["inputs"], "properties": {
                "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
            "Item": {"type": "object", "required": ["id"], "properties": {
                "id": {"type": "string"},
                "note": {"type": "string", "nullable": True},
                "properties": {"type": "object", "additionalProperties": {"type": "string"}},
            }},
        },
        "requestBodies": {"Patch": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Item"}}}}},
    },
}

SWAGGER2: dict[str, Any] = {
    "swagger": "2.0",
    "basePath": "/rest",
    "paths": {
        "/v1/leads.json": {"post": {
            "operationId": "syncLeads",
            "parameters": [
                {"in": "query", "name": "x", "type": "string"},
                {"in": "body", "name": "req", "required": True,
                 "schema": {"$ref": "#/definitions/SyncLeadRequest"}},
            ],
        }},
        "/v1/leads/{id}.json": {"get": {"operationId": "getLead"}},
    },
    "definitions": {
        "SyncLeadRequest": {"type": "object", "required": ["input"], "properties": {
            "action": {"type": "string", "enum": ["createOnly", "createOrUpdate"]},
            "input": {"type": "array", "items": {"$ref": "#/definitions/Lead"}},
        }},
        "Lead": {"type": "object", "properties": {"email": {"type": "string"},
                                                   "id": {"type": "integer"}}},
    },
}


@pytest.fixture(scope="module")
def specs() -> Path:
    if not (SPECS / "hubspot/contacts.json").is_file():
        pytest.fail(f"the vendor specs are missing: expected them in {SPECS}")
    return SPECS


class TestOpenAPI3:
    spec = OpenAPISpec([OPENAPI3])

    def test_a_valid_body_has_no_problems(self) -> None:
        body = {"inputs": [{"id": "1", "note": None, "properties": {"a": "b"}}]}
        assert self.spec.check("POST", "/things/batch", body) == []

    def test_refs_are_resolved_and_problems_name_the_place(self) -> None:
        body = {"inputs": [{"id": 1}, {"properties": {"a": 5}}]}
        assert self.spec.check("POST", "/things/batch", body) == [
            "body.inputs[0].id: 1 is not of type 'string'",
            "body.inputs[1]: 'id' is a required property",
            "body.inputs[1].properties.a: 5 is not of type 'string'",
        ]

    def test_a_missing_required_body_is_a_problem(self) -> None:
        assert self.spec.check("POST", "/things/batch") == ["a request body is required"]

    def test_request_bodies_by_ref_and_path_templates(self) -> None:
        assert self.spec.check("PATCH", "/things/42", {"id": "42"}) == []
        assert self.spec.check("PATCH", "/things/42", {"id": 42})
        assert self.spec.check("PATCH", "/things/42") == []   # not required

    def test_literal_paths_win_over_templates(self) -> None:
        found = self.spec.operation("GET", "/things/special")
        assert found is not None and found.operation_id == "special"
        other = self.spec.operation("get", "/things/7")
        assert other is not None and other.operation_id == "get-one"

    def test_the_server_path_prefix_is_accepted(self) -> None:
        assert self.spec.check("POST", "/api/things/batch", {"inputs": []}) == []

    def test_unknown_operations_are_problems(self) -> None:
        assert self.spec.check("DELETE", "/things/batch") == [
            "DELETE /things/batch is not an operation of the spec"]
        assert self.spec.check("GET", "/nothing")


class TestSwagger2:
    spec = OpenAPISpec([SWAGGER2])

    def test_the_body_parameter_is_checked(self) -> None:
        assert self.spec.check("POST", "/rest/v1/leads.json", {"input": [{"email": "a"}]}) == []
        assert self.spec.check("POST", "/v1/leads.json", {"input": [{"id": "x"}],
                                                          "action": "merge"}) == [
            "body.action: 'merge' is not one of ['createOnly', 'createOrUpdate']",
            "body.input[0].id: 'x' is not of type 'integer'",
        ]
        assert self.spec.check("POST", "/rest/v1/leads.json") == ["a request body is required"]

    def test_operations_without_a_body(self) -> None:
        assert self.spec.check("GET", "/rest/v1/leads/12.json") == []


def test_several_documents_keep_their_own_refs() -> None:
    spec = OpenAPISpec([OPENAPI3, SWAGGER2])
    assert spec.check("POST", "/things/batch", {"inputs": [{"id": "1"}]}) == []
    assert spec.check("POST", "/rest/v1/leads.json", {"input": [{"id": 3}]}) == []


def test_the_checker_records_violations_and_can_be_off() -> None:
    checker = RequestChecker(OpenAPISpec([OPENAPI3]))
    assert checker("POST", "/things/batch", {"inputs": [{"id": "1"}]}) == []
    assert checker("POST", "/things/batch", {"inputs": "no"})
    assert [str(v) for v in checker.violations] == [
        "POST /things/batch: body.inputs: 'no' is not of type 'array'"]
    off = RequestChecker(None)
    assert off("POST", "/things/batch", Body.NONE) == [] and off.violations == []


def test_the_real_hubspot_specs(specs: Path) -> None:
    spec = OpenAPISpec.from_files(*(specs / "hubspot" / f"{name}.json"
                                    for name in ("contacts", "lists", "properties")))
    read = {"inputs": [{"id": "a@x.example"}], "idProperty": "email", "properties": ["email"]}
    assert spec.check("POST", "/crm/v3/objects/contacts/batch/read", read) == [
        "body: 'propertiesWithHistory' is a required property"]
    read["propertiesWithHistory"] = []
    assert spec.check("POST", "/crm/v3/objects/contacts/batch/read", read) == []
    assert spec.check("PUT", "/crm/v3/lists/12/memberships/add", ["1", "2"]) == []
    assert spec.check("PUT", "/crm/v3/lists/12/memberships/add", [1])
    assert spec.check("GET", "/crm/v3/properties/contacts") == []


def test_the_real_marketo_spec(specs: Path) -> None:
    spec = OpenAPISpec.from_files(specs / "marketo/swagger-mapi.json")
    assert spec.check("POST", "/rest/v1/leads.json", {"input": [{"email": "a@x.example"}]}) == []
    assert spec.check("POST", "/rest/v1/leads.json", {"input": "a@x.example"})


# --- the fast path agrees with jsonschema ----------------------------------------------------

@functools.cache
def _hubspot() -> OpenAPISpec:
    return OpenAPISpec.from_files(*(SPECS / "hubspot" / f"{name}.json"
                                    for name in ("contacts", "lists")))


_KEYS = st.sampled_from(["inputs", "properties", "associations", "id", "idProperty", "email",
                         "objectWriteTraceId", "propertiesWithHistory", "to", "types"])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS | st.text(max_size=3),
                                                                  inner, max_size=4),
    max_leaves=16)
_ITEM = st.fixed_dictionaries({"properties": st.dictionaries(st.text(max_size=3),
                                                             st.text(max_size=3) | _JSON,
                                                             max_size=3)},
                              optional={"associations": st.just([]) | _JSON, "id": _JSON,
                                        "idProperty": st.just("email") | _JSON,
                                        "objectWriteTraceId": st.text(max_size=3) | _JSON})


@given(body=_JSON | st.fixed_dictionaries({"inputs": st.lists(_ITEM, max_size=3)},
                                          optional={"properties": _JSON,
                                                    "propertiesWithHistory": _JSON,
                                                    "idProperty": _JSON}))
def test_the_fast_check_and_jsonschema_give_the_same_verdict(body: Any) -> None:
    if not (SPECS / "hubspot/contacts.json").is_file():
        pytest.fail(f"the vendor specs are missing: expected them in {SPECS}")
    for method, path in (("POST", "/crm/v3/objects/contacts/batch/create"),
                         ("POST", "/crm/v3/objects/contacts/batch/upsert"),
                         ("POST", "/crm/v3/objects/contacts/batch/read"),
                         ("PUT", "/crm/v3/lists/1/memberships/add")):
        operation = _hubspot().operation(method, path)
        assert operation is not None and operation.fast_schema is not None
        try:
            operation._fast(body)
            fast = True
        except fastjsonschema.JsonSchemaException:
            fast = False
        assert fast == operation.validator.is_valid(body), (path, body)
