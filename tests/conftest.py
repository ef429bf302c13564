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
def small_batches(tmp_path: Path, store_url: str | None) -> Iterator[App]:
    """`app` with batches of 10 changes (see `tests.helpers.SMALL_LEADS`)."""
    built = make_app(tmp_path / "home", store_url, batch_size=10)
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


# --- no real models, no network beyond this machine ------------------------------------

@pytest.fixture(autouse=True)
def _no_real_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test: building a real LLM raises (`MOPS_LLM_FORBIDDEN`), and sockets connect to
    loopback only, so no test can reach a model, or anything else, over the network."""
    import socket

    monkeypatch.setenv("MOPS_LLM_FORBIDDEN", "1")
    monkeypatch.delenv("MOPS_LLM", raising=False)
    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, _loopback_only(getattr(socket.socket, name)))


def _loopback_only(connect: Callable[..., object]) -> Callable[..., object]:
    import socket
    from ipaddress import ip_address

    def guarded(sock: socket.socket, address: object, /) -> object:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0]).split("%")[0]
            try:
                local = host == "localhost" or ip_address(host).is_loopback
            except ValueError:
                local = False
            if not local:
                raise RuntimeError(f"tests may not connect beyond this machine ({host})")
        return connect(sock, address)

    return guarded
