"""The job-kind registry: kinds come from the `mops.job_kinds` entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Literal

import pytest

from agents import kinds as kinds_module
from agents.kinds import BadParams, PlanContext, Registry, Services, UnknownKind
from agents.list_upload import ListUploadKind
from agents.requests import JobRequest, ListUploadParams, Params
from approvals.rollback import RollbackKind
from mops.app import App
from tasks.lifecycle import PlanningFailed
from tests.helpers import crm_of
from tools.records import Record


class EchoParams(Params):
    kind: Literal["echo"] = "echo"
    text: str


class EchoKind:
    """A kind another package could ship: plans nothing, notes its text."""

    name = "echo"
    params = EchoParams

    def __init__(self, services: Services) -> None:
        self.services = services

    def plan(self, params: EchoParams, ctx: PlanContext) -> None:
        ctx.plan.notes.append(params.text)


def _services(tmp_path: Path) -> Services:
    return Services(store=object(), home=tmp_path)


def test_the_installed_kinds_are_found_through_entry_points(tmp_path: Path) -> None:
    registry = Registry.discover(_services(tmp_path))
    assert {"list_upload", "rollback"} <= set(registry.names())
    assert isinstance(registry.get("list_upload"), ListUploadKind)
    assert isinstance(registry.get("rollback"), RollbackKind)


def test_a_kind_from_another_package_is_registered_and_parses_its_params(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    point = EntryPoint(name="echo", value=f"{__name__}:EchoKind", group="mops.job_kinds")
    monkeypatch.setattr(kinds_module, "entry_points", lambda group: [point])
    registry = Registry.discover(_services(tmp_path))
    assert registry.names() == ["echo"]
    params = registry.parse_params({"kind": "echo", "text": "hi"})
    assert params == EchoParams(text="hi")


def test_an_entry_point_whose_kind_has_another_name_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    point = EntryPoint(name="shout", value=f"{__name__}:EchoKind", group="mops.job_kinds")
    monkeypatch.setattr(kinds_module, "entry_points", lambda group: [point])
    with pytest.raises(ValueError, match="'shout'.*'echo'"):
        Registry.discover(_services(tmp_path))


def test_stored_params_come_back_as_the_kinds_model(tmp_path: Path) -> None:
    registry = Registry.discover(_services(tmp_path))
    stored = ListUploadParams(file="a.csv", list="Expo").model_dump(mode="json")
    assert registry.parse_params(stored) == ListUploadParams(file="a.csv", list="Expo")
    with pytest.raises(BadParams, match="list_upload"):
        registry.parse_params({"kind": "list_upload", "file": "a.csv"})
    with pytest.raises(UnknownKind, match="no job kind 'nope'"):
        registry.parse_params({"kind": "nope"})


class GreedyParams(Params):
    kind: Literal["greedy"] = "greedy"


class GreedyKind:
    """A planner that tries to write while planning (a bug, or a hostile plugin)."""

    name = "greedy"
    params = GreedyParams

    def plan(self, params: GreedyParams, ctx: PlanContext) -> None:
        ctx.crm.create_contacts([Record(key="sneaky@x.test", fields={})])


def test_a_planner_cannot_write_while_planning(app: App) -> None:
    app.runtime.kinds.register(GreedyKind())
    with pytest.raises(PlanningFailed, match="create_contacts on a read-only view"):
        app.jobs.request(JobRequest(params=GreedyParams(), requested_by="alice"))
    crm = crm_of(app)
    try:
        assert crm.read_contacts(["sneaky@x.test"]) == {}
    finally:
        crm.close()
    assert app.store.jobs() == []
