"""What people ask for: a `JobRequest`, with typed parameters per job kind.

Every kind's parameters subclass `Params` and fix `kind` to the kind's name. The request
holds them as they are (`SerializeAsAny`), and the job store keeps their JSON; the
registry (`agents.kinds.Registry.parse_params`) turns stored JSON back into the kind's own
model, so a kind added by another package needs no change here.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

Source = Literal["cli", "chat", "web", "api"]


class _NamesAFile:
    """Marks a parameter that names a file on this machine (see `FileName`)."""


# A parameter that names a file. Declare every such field with this type: a door that lets a
# model fill in parameters (the chat agent) accepts only files the person named, and finds
# them by this mark, so a path field declared as a plain `str` would escape that check.
FileName = Annotated[str, _NamesAFile()]
OptionalFileName = Annotated[str | None, _NamesAFile()]


class Params(BaseModel):
    """The parameters of one job kind: subclass it with `kind: Literal["<name>"]`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a `FileName` inside another type (`FileName | None`, `list[FileName]`):
        `file_fields` would not see it, and its files would escape the checks."""
        super().__pydantic_init_subclass__(**kwargs)
        for name, info in cls.model_fields.items():
            marked = any(isinstance(m, _NamesAFile) for m in info.metadata)
            if not marked and _marked_inside(info.annotation):
                raise TypeError(f"{cls.__name__}.{name}: declare a file as FileName or "
                                "OptionalFileName, not inside another type")

    @classmethod
    def file_fields(cls) -> tuple[str, ...]:
        """The names of the fields declared `FileName` or `OptionalFileName`."""
        return tuple(name for name, info in cls.model_fields.items()
                     if any(isinstance(m, _NamesAFile) for m in info.metadata))

    def files(self) -> list[str]:
        """The files these parameters name: the `FileName` fields that are set."""
        named = (getattr(self, name) for name in self.file_fields())
        return [value for value in named if isinstance(value, str) and value]


def _marked_inside(annotation: Any) -> bool:
    for arg in get_args(annotation):
        if any(isinstance(m, _NamesAFile) for m in getattr(arg, "__metadata__", ())):
            return True
        if _marked_inside(arg):
            return True
    return False


class ListUploadParams(Params):
    """Upload a CSV of leads into the CRM and add every accepted row to a static list."""

    kind: Literal["list_upload"] = "list_upload"
    file: FileName
    list: str = Field(min_length=1)
    mapping: dict[str, str] = {}


class RollbackParams(Params):
    """Undo what an earlier job wrote, from its rollback log."""

    kind: Literal["rollback"] = "rollback"
    of_job: int


class JobRequest(BaseModel):
    """A request for a job: what kind, with which parameters, asked by whom, from where."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    params: SerializeAsAny[Params]
    requested_by: str = Field(min_length=1)
    source: Source = "cli"
    target: str = "sandbox"

    @property
    def kind(self) -> str:
        """The job kind, taken from the parameters."""
        return self.params.kind
