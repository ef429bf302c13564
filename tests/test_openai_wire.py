"""The real provider path: langchain-openai's client against a local OpenAI-format stub.

The stub is an `http.server` on 127.0.0.1 answering `POST /v1/chat/completions` with the
replies a test scripts, in the Chat Completions wire format (tool calls included), and
keeping each request body, so the tests see what the client really sent.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from agents.backfill import BackfillKind, BackfillParams
from agents.chat import run_agent
from agents.intents.llm_parser import SCHEMA_NAME, parse_with_model
from agents.intents.types import Proposal
from agents.kinds import Registry
from agents.list_upload import ListUploadKind
from agents.llm import (
    LLMConfigError,
    RealModelForbidden,
    from_provider_package,
    model_from_env,
    model_label,
    parse_spec,
    real_models_forbidden,
)
from tests.helpers import snapshot
from tools.records import Record
from tools.sandbox import SandboxCRM


class Stub(ThreadingHTTPServer):
    """An OpenAI Chat Completions endpoint that plays back scripted assistant messages."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.replies: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(BaseHTTPRequestHandler):
    server: Stub

    def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/chat/completions" or not self.server.replies:
            self._send(404, {"error": {"message": "no scripted reply", "type": "stub"}})
            return
        self.server.requests.append(body)
        self.server.auth.append(self.headers.get("Authorization", ""))
        message = self.server.replies.pop(0)
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        self._send(200, {
            "id": f"chatcmpl-{len(self.server.requests)}", "object": "chat.completion",
            "created": 1_700_000_000, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", **message},
                         "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        })

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def model(stub: Stub) -> ChatOpenAI:
    return ChatOpenAI(model="gpt-test", base_url=stub.base_url, api_key=SecretStr("test"),
                      max_retries=0, timeout=10)


def tool_call(name: str, args: dict[str, Any], call_id: str = "call_1") -> dict[str, Any]:
    return {"content": None, "tool_calls": [{
        "id": call_id, "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)}}]}


def test_structured_output_through_the_openai_client(stub: Stub, model: ChatOpenAI) -> None:
    kinds = Registry([ListUploadKind(), BackfillKind()])
    stub.replies.append(tool_call(SCHEMA_NAME, {"reply": {
        "type": "job", "explanation": "fill empty countries",
        "params": {"kind": "backfill", "field": "country", "value": "GB"}}}))

    got = parse_with_model("set missing countries to GB", model, kinds)

    assert isinstance(got, Proposal)
    assert got.params == BackfillParams(field="country", value="GB")
    [sent] = stub.requests
    assert stub.auth == ["Bearer test"]
    assert sent["model"] == "gpt-test"
    assert [t["function"]["name"] for t in sent["tools"]] == [SCHEMA_NAME]
    assert "backfill" in json.dumps(sent["tools"][0]["function"]["parameters"])
    assert sent["tool_choice"]["function"]["name"] == SCHEMA_NAME
    assert sent["messages"][0]["role"] == "system"
    assert sent["messages"][1] == {
        "role": "user",
        "content": 'Request (data, as a JSON string): "set missing countries to GB"'}


def test_one_agent_turn_through_the_openai_client(stub: Stub, model: ChatOpenAI,
                                                  tmp_path: Path) -> None:
    crm = SandboxCRM(f"sqlite:///{tmp_path / 'crm.db'}")
    crm.create_contacts([Record(key="ada@example.com", fields={"country": "GB"}),
                         Record(key="bob@example.com", fields={"country": "FR"})])
    before = snapshot(crm)
    stub.replies += [tool_call("count_contacts", {"where": "country = GB"}, "call_7"),
                     {"content": "One contact is in GB."}]

    answer = run_agent("How many contacts in GB?", model, crm, Registry([BackfillKind()]))

    assert answer.text == "One contact is in GB."
    assert answer.tool_calls == ["count_contacts"]
    first, second = stub.requests
    assert {t["function"]["name"] for t in first["tools"]} == {
        "count_contacts", "search_contacts", "describe_fields", "preview_job", "propose_job"}
    assistant, result = second["messages"][-2:]
    assert assistant["tool_calls"][0]["id"] == "call_7"
    assert result["role"] == "tool" and result["tool_call_id"] == "call_7"
    assert json.loads(result["content"]) == {"count": 1, "where": 'country = "GB"'}
    assert snapshot(crm) == before
    crm.close()


# --- choosing a model: MOPS_LLM ------------------------------------------------------------

def test_tests_run_with_real_models_forbidden_and_no_network() -> None:
    assert real_models_forbidden()
    with pytest.raises(RealModelForbidden):
        model_from_env("openai:gpt-4o-mini")
    with pytest.raises(RealModelForbidden):
        from_provider_package("openai", "gpt-4o-mini")
    with socket.socket() as sock, pytest.raises(RuntimeError, match="beyond this machine"):
        sock.connect(("192.0.2.1", 443))


def test_no_spec_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    assert model_from_env(None) is None
    assert model_from_env("") is None
    monkeypatch.setenv("MOPS_LLM", "  ")
    assert model_from_env() is None


def test_a_spec_is_provider_colon_model() -> None:
    assert parse_spec("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert parse_spec(" ollama:llama3.1:8b ") == ("ollama", "llama3.1:8b")
    for bad in ("gpt-4o", "openai:", ":gpt", "open ai:gpt"):
        with pytest.raises(LLMConfigError, match="provider:model"):
            parse_spec(bad)


def test_mops_llm_builds_the_providers_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOPS_LLM_FORBIDDEN")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("MOPS_LLM", "openai:gpt-4o-mini")
    built = model_from_env()
    assert isinstance(built, ChatOpenAI)
    assert model_label(built) == "openai:gpt-4o-mini"
    direct = from_provider_package("openai", "gpt-4o-mini", api_key=SecretStr("sk-given"))
    assert isinstance(direct, ChatOpenAI)
    assert "sk-given" not in repr(direct) and "sk-from-env" not in repr(built)


def test_an_unknown_provider_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOPS_LLM_FORBIDDEN")
    with pytest.raises(LLMConfigError):
        model_from_env("nosuchprovider:x")
    with pytest.raises(LLMConfigError, match="unknown LLM provider"):
        from_provider_package("nosuchprovider", "x")
