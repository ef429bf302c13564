"""What people ask for: a `JobRequest`, with typed parameters per job kind."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["cli", "chat", "web", "api"]


class ListUploadParams(BaseModel):
    """Upload a CSV of leads into the CRM and add every accepted row to a static list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["list_upload"] = "list_upload"
    file: str
    list: str = Field(min_length=1)
    mapping: dict[str, str] = {}


class RollbackParams(BaseModel):
    """Undo what an earlier job wrote, from its rollback log."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["rollback"] = "rollback"
    of_job: int


JobParams = Annotated[ListUploadParams | RollbackParams, Field(discriminator="kind")]


class JobRequest(BaseModel):
    """A request for a job: what kind, with which parameters, asked by whom, from where."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    params: JobParams
    requested_by: str = Field(min_length=1)
    source: Source = "cli"
    target: str = "sandbox"

    @property
    def kind(self) -> str:
        """The job kind, taken from the parameters."""
        return self.params.kind
