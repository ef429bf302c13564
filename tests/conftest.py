"""Shared fixtures: the job store on SQLite and on the PostgreSQL of this machine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mops.app import App
from mops.cli import cli
from tests.helpers import make_app

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """A fresh, empty job-store database: SQLite in tmp_path, or a throwaway PostgreSQL one."""
    if request.param == "sqlite":
        yield None                      # the app's default: SQLite in its home
        return
    from tests.pg import throwaway_database

    with throwaway_database("mops_test_store") as url:
        yield url


@pytest.fixture
def app(tmp_path: Path, store_url: str | None) -> Iterator[App]:
    """An app with its own store (SQLite or PostgreSQL) and its own sandbox CRM."""
    built = make_app(tmp_path / "home", store_url)
    yield built
    built.close()


@pytest.fixture
def mops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Run `mops` in-process on a fresh home, in `tmp_path`: `mops(*args, code=0)` returns
    stdout (or stderr when `code` is not 0) and checks the exit code."""
    monkeypatch.setenv("MOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MOPS_DATABASE_URL", raising=False)
    monkeypatch.delenv("MOPS_BROKER_URL", raising=False)
    monkeypatch.setenv("MOPS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output + result.stderr
        return result.stdout if code == 0 else result.stderr

    return run
