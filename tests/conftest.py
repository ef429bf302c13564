"""Shared fixtures: the job store on SQLite and on the PostgreSQL of this machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mops.app import App
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
