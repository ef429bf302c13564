"""The optional LLM: a LangChain chat model chosen by `MOPS_LLM=provider:model`.

With `MOPS_LLM` unset there is no model and no network: every LLM path has a deterministic
default. Set, the spec goes to LangChain's `init_chat_model` when the `langchain` package is
installed, else to the provider's own package through `PROVIDERS` (an explicit registry).
API keys are never read here: the provider package takes them from its own environment
variable (`OPENAI_API_KEY`, …), or the caller passes a `SecretStr`.

Tests set `MOPS_LLM_FORBIDDEN=1` (`forbid_real_models()`), which makes building a real model
raise `RealModelForbidden`; fakes (`ScriptedChatModel`) are built directly and unaffected.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import SecretStr

ENV_SPEC = "MOPS_LLM"
ENV_FORBIDDEN = "MOPS_LLM_FORBIDDEN"

# provider → (package, chat model class), for when `langchain` is not installed.
PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("langchain_openai", "ChatOpenAI"),
    "anthropic": ("langchain_anthropic", "ChatAnthropic"),
    "ollama": ("langchain_ollama", "ChatOllama"),
}

_SPEC = re.compile(r"(?P<provider>[a-z][a-z0-9_-]*):(?P<model>\S+)")


class LLMConfigError(ValueError):
    """`MOPS_LLM` is not `provider:model`, or the provider's package is missing."""


class RealModelForbidden(RuntimeError):
    """A real model was about to be built where real models are forbidden (tests)."""


def forbid_real_models() -> None:
    """From now on, in this process, building a real model raises `RealModelForbidden`."""
    os.environ[ENV_FORBIDDEN] = "1"


def real_models_forbidden() -> bool:
    """Whether the test switch `MOPS_LLM_FORBIDDEN` is on."""
    return os.environ.get(ENV_FORBIDDEN, "").strip() not in ("", "0")


def parse_spec(spec: str) -> tuple[str, str]:
    """`provider:model` as (provider, model); the model part may hold colons (`llama3:8b`)."""
    match = _SPEC.fullmatch(spec.strip())
    if match is None:
        raise LLMConfigError(f"{ENV_SPEC} must be provider:model (e.g. openai:gpt-4o-mini), "
                             f"not {spec.strip()!r}")
    return match["provider"], match["model"]


def model_from_env(spec: str | None = None, *,
                   api_key: SecretStr | None = None) -> BaseChatModel | None:
    """The chat model `spec` names (default: the `MOPS_LLM` variable); None when unset.

    Building a model opens no connection; the first call does.
    """
    text = os.environ.get(ENV_SPEC) if spec is None else spec
    if not text or not text.strip():
        return None
    provider, model = parse_spec(text)
    if real_models_forbidden():
        raise RealModelForbidden(f"{ENV_SPEC}={provider}:{model} asks for a real model, but "
                                 f"{ENV_FORBIDDEN} is set (tests use fake chat models)")
    kwargs: dict[str, Any] = {} if api_key is None else {"api_key": api_key}
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        return from_provider_package(provider, model, **kwargs)
    try:
        built: BaseChatModel = init_chat_model(model, model_provider=provider, **kwargs)
    except (ImportError, ValueError) as exc:    # unknown provider, or its package missing
        raise LLMConfigError(f"{ENV_SPEC}={provider}:…: {exc}") from None
    return built


def from_provider_package(provider: str, model: str, **kwargs: Any) -> BaseChatModel:
    """Build the model with the provider's package directly (no `langchain` installed)."""
    if real_models_forbidden():
        raise RealModelForbidden(f"{provider}:{model} is a real model; {ENV_FORBIDDEN} is set")
    try:
        package, name = PROVIDERS[provider]
    except KeyError:
        raise LLMConfigError(f"unknown LLM provider {provider!r} (known without the langchain "
                             f"package: {', '.join(sorted(PROVIDERS))})") from None
    try:
        cls = getattr(importlib.import_module(package), name)
    except ImportError:
        raise LLMConfigError(f"provider {provider!r} needs the package "
                             f"{package.replace('_', '-')}: pip install it") from None
    built: BaseChatModel = cls(model=model, **kwargs)
    return built


def model_label(model: BaseChatModel) -> str:
    """`provider:model` for showing in plans ("suggested by openai:gpt-4o-mini")."""
    params = model._get_ls_params()
    provider = str(params.get("ls_provider") or type(model).__name__.lower())
    name = params.get("ls_model_name") or getattr(model, "model_name", None) or getattr(
        model, "model", None)
    return f"{provider}:{name}" if name else provider


class ScriptedChatModel(GenericFakeChatModel):
    """A fake chat model that answers with the given messages in order, tool calls included.

    `bind_tools` records the tools' names (`bound`) and changes nothing else, so structured
    output and the agent loop run LangChain's own parsing over real tool-call messages.
    Each call's input messages are kept in `seen`.
    """

    bound: list[list[str]] = []
    seen: list[list[BaseMessage]] = []
    label: str = "fake:scripted"

    @classmethod
    def replying(cls, replies: Iterable[AIMessage | str], label: str = "fake:scripted"
                 ) -> ScriptedChatModel:
        """A model whose successive calls return `replies`."""
        return cls(messages=iter(list(replies)), bound=[], seen=[], label=label)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, stop, run_manager, **kwargs)

    def bind_tools(self, tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
                   *, tool_choice: str | None = None,
                   **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        self.bound.append([_tool_name(t) for t in tools])
        return self

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        provider, _, name = self.label.partition(":")
        return {**super()._get_ls_params(stop=stop, **kwargs), "ls_provider": provider,
                "ls_model_name": name}


def _tool_name(tool: dict[str, Any] | type | Callable[..., Any] | BaseTool) -> str:
    if isinstance(tool, BaseTool):
        return tool.name
    if isinstance(tool, dict):
        return str(tool.get("name") or tool.get("function", {}).get("name"))
    return getattr(tool, "__name__", repr(tool))
