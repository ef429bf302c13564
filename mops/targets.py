"""Opening a configured CRM target: the sandbox, HubSpot, Salesforce or Marketo.

Credentials come from the target's settings (mops.toml or `MOPS_TARGETS__NAME__…`) as
`SecretStr`s and go straight to the adapter; a missing one is an error naming the variable
to set, never a value.
"""

from __future__ import annotations

from pydantic import SecretStr

from mops.settings import Settings, Target
from tools.crm import CRM
from tools.errors import ToolError
from tools.ratelimit import Limiter


class MissingCredential(ToolError):
    """A target is configured without what its system needs to connect."""


def open_crm(name: str, settings: Settings, limiter: Limiter) -> CRM:
    """A connection to target `name`, made by its kind's adapter."""
    target = settings.targets[name]
    if target.kind == "sandbox":
        from tools.sandbox import SandboxCRM

        return SandboxCRM(settings.target_url(name), name=name, limiter=limiter,
                          record_calls=target.record_calls)
    if target.kind == "hubspot":
        from tools.hubspot import DEFAULT_URL, HubSpotCRM

        return HubSpotCRM(target.url or DEFAULT_URL, token=_needed(name, target, "token"),
                          name=name, limiter=limiter)
    if target.kind == "salesforce":
        from tools.salesforce import SalesforceCRM

        return SalesforceCRM(_url(name, target), _needed(name, target, "token"), name=name,
                             limiter=limiter, api_version=target.api_version or "v62.0")
    from tools.marketo import MarketoCRM

    if not target.client_id:
        raise _missing(name, "client_id")
    return MarketoCRM(_url(name, target), target.client_id,
                      _needed(name, target, "client_secret"),
                      identity_url=target.identity_url, name=name, limiter=limiter)


def _needed(name: str, target: Target, field: str) -> SecretStr:
    value = getattr(target, field)
    if not isinstance(value, SecretStr) or not value.get_secret_value():
        raise _missing(name, field)
    return value


def _url(name: str, target: Target) -> str:
    if not target.url:
        raise _missing(name, "url")
    return target.url


def _missing(name: str, field: str) -> MissingCredential:
    return MissingCredential(
        f"target {name!r} ({'a ' + field}) is not configured: set "
        f"MOPS_TARGETS__{name.upper()}__{field.upper()} or [targets.{name}] {field} in "
        "mops.toml")
