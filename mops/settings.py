"""Settings: `MOPS_*` environment variables and an optional mops.toml.

Where the TOML file is: `MOPS_CONFIG`, else `./mops.toml`, else `$MOPS_HOME/mops.toml`.
Environment variables win over the file. Secrets are `SecretStr` and never printed.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from approvals.policy import Policy


class ConfigError(ValueError):
    """The settings are incomplete or contradictory; the message says what to set."""


class Limit(BaseModel):
    """A target's rate limit: at most `requests` in any `per_seconds`, across all workers."""

    model_config = ConfigDict(extra="forbid")

    requests: int = Field(gt=0)
    per_seconds: float = Field(gt=0)


class Target(BaseModel):
    """A named CRM connection: the sandbox, or an outside system and its credentials.

    In mops.toml under ``[targets.NAME]``, or in the environment as
    ``MOPS_TARGETS__NAME__FIELD`` (e.g. ``MOPS_TARGETS__HUBSPOT__TOKEN``) for secrets.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["sandbox", "hubspot", "salesforce", "marketo"] = "sandbox"
    url: str | None = None                # sandbox: its database (default $MOPS_HOME/…);
                                          # others: the API's base URL (default the vendor's)
    token: SecretStr | None = None        # HubSpot private-app token; Salesforce access token
    client_id: str | None = None          # Marketo: the API user's client credentials
    client_secret: SecretStr | None = None
    identity_url: str | None = None       # Marketo: the identity endpoint (default url/identity)
    api_version: str | None = None        # Salesforce REST version, e.g. "v62.0"
    rate_limit: Limit | None = None       # shared through Redis when a broker is set
    record_calls: bool = False            # sandbox: log each call's arrival (dry runs, tests)


class WebSettings(BaseModel):
    """The web app (`mops serve`): where people reach it, and the key that signs sessions."""

    model_config = ConfigDict(extra="forbid")

    public_url: str = "http://127.0.0.1:8000"   # links in Slack messages point here
    secret_key: SecretStr | None = None          # signs session cookies; unset: a key per
                                                 # process (sessions end when it restarts)


class SlackSettings(BaseModel):
    """The Slack app: its signing secret and bot token (from the app's settings page), the
    channel approval requests go to, and the Web API's base URL (a local fake in tests)."""

    model_config = ConfigDict(extra="forbid")

    signing_secret: SecretStr | None = None
    bot_token: SecretStr | None = None
    channel: str | None = None
    api_url: str = "https://slack.com/api/"


class Settings(BaseSettings):
    """mops configuration."""

    model_config = SettingsConfigDict(env_prefix="MOPS_", env_nested_delimiter="__",
                                      extra="ignore")

    home: Path = Path(".mops")
    database_url: SecretStr | None = None
    user: str | None = None
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    helpers: int | None = Field(default=None, ge=0, le=64)   # None: one a core, at most 4
    broker_url: SecretStr | None = None          # redis://… : jobs go to `mops worker`s
    queue: str = "mops"                          # the Celery queue jobs travel on
    batch_lease: float = Field(default=600.0, gt=0)        # longer than any batch takes
    visibility_timeout: float = Field(default=3600.0, gt=0)  # longer than the lease
    stall_after: float = Field(default=120.0, gt=0)  # resend a queued task not started by then
    sweep_every: float = Field(default=15.0, gt=0)
    approvals: Policy = Policy()
    targets: dict[str, Target] = {"sandbox": Target()}
    web: WebSettings = WebSettings()
    slack: SlackSettings = SlackSettings()

    @field_validator("targets")
    @classmethod
    def _keep_the_sandbox(cls, targets: dict[str, Target]) -> dict[str, Target]:
        """Configuring other targets does not take the sandbox away."""
        return {"sandbox": Target(), **targets}

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments, then the environment, then mops.toml."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return init_settings, env_settings, toml

    def store_url(self) -> str:
        """The job store's database URL: `MOPS_DATABASE_URL`, else SQLite in the home."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.home / 'mops.db').resolve()}"

    def target_url(self, name: str) -> str:
        """The sandbox CRM's database URL for target `name`."""
        target = self.targets[name]
        return target.url or f"sqlite:///{(self.home / f'{name}.db').resolve()}"

    def actor(self, given: str | None) -> str:
        """Who is acting: `--as`, else `MOPS_USER`, else the login name."""
        # One spelling per person: "Alice" and "alice " are the same approver.
        return (given or self.user or getpass.getuser()).strip().lower()


def config_file() -> Path | None:
    """The mops.toml to read, if any."""
    explicit = os.environ.get("MOPS_CONFIG")
    if explicit:
        return Path(explicit)
    for candidate in (Path("mops.toml"), Path(os.environ.get("MOPS_HOME", ".mops"), "mops.toml")):
        if candidate.is_file():
            return candidate
    return None
