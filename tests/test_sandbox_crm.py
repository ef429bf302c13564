"""The sandbox CRM: the conformance suite on SQLite and PostgreSQL, and what is its own."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tests.conformance.crm_suite import CRMConformance, contact, contents, emails, oks
from tests.pg import throwaway_database
from tools import sandbox
from tools.crm import CRM
from tools.errors import SystemFault
from tools.sandbox import METADATA, SandboxCRM, _sql


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of its own for this test session, dropped at the end."""
    with throwaway_database("mops_test_crm") as url:
        yield url


@pytest.fixture
def pg_crm(pg_url: str) -> Iterator[SandboxCRM]:
    """A sandbox with empty tables in the session's PostgreSQL database."""
    crm = SandboxCRM(pg_url)
    yield crm
    crm.close()
    engine = create_engine(pg_url)
    try:
        METADATA.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_crm(tmp_path: Path) -> Iterator[SandboxCRM]:
    crm = SandboxCRM(sqlite_url(tmp_path / "sandbox.db"))
    yield crm
    crm.close()


class TestSandboxOnSQLite(CRMConformance):
    @pytest.fixture
    def crm(self, sqlite_crm: SandboxCRM) -> Iterator[CRM]:
        yield sqlite_crm


@pytest.mark.postgres
class TestSandboxOnPostgreSQL(CRMConformance):
    @pytest.fixture
    def crm(self, pg_crm: SandboxCRM) -> Iterator[CRM]:
        yield pg_crm


def test_public_api() -> None:
    expected = ["CONTACTS", "LISTS", "LIST_MEMBERS", "METADATA", "SandboxCRM"]
    assert sorted(sandbox.__all__) == expected


class TestSandboxOnSQLiteOnly:
    def test_name_defaults_to_sandbox(self, tmp_path: Path) -> None:
        default = SandboxCRM(sqlite_url(tmp_path / "a.db"))
        named = SandboxCRM(sqlite_url(tmp_path / "b.db"), name="demo")
        try:
            assert (default.name, named.name) == ("sandbox", "demo")
        finally:
            default.close()
            named.close()

    def test_reopening_keeps_the_data(self, tmp_path: Path) -> None:
        url = sqlite_url(tmp_path / "sandbox.db")
        first = SandboxCRM(url)
        first.create_contacts([contact("ada@example.com", firstname="Ada")])
        first.create_list("Newsletter")
        first.add_members("Newsletter", ["ada@example.com"])
        first.close()
        again = SandboxCRM(url)
        try:
            assert contents(again) == {"ada@example.com": {"firstname": "Ada"}}
            assert list(again.iter_memberships()) == [("Newsletter", "ada@example.com")]
        finally:
            again.close()

    def test_database_is_in_wal_mode_and_stores_empty_as_null(self, tmp_path: Path) -> None:
        path = tmp_path / "sandbox.db"
        crm = SandboxCRM(sqlite_url(path))
        crm.create_contacts([contact("ada@example.com", firstname="", city="London")])
        crm.update_contacts([("ada@example.com", {"city": ""})])
        crm.close()
        with sqlite3.connect(path) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            row = raw.execute("SELECT firstname, city, created_at FROM contacts").fetchone()
        raw.close()
        assert row[:2] == (None, None) and row[2]

    def test_rows_are_kept_in_their_keys_btree(self, tmp_path: Path) -> None:
        path = tmp_path / "sandbox.db"
        SandboxCRM(sqlite_url(path)).close()
        with sqlite3.connect(path) as raw:
            tables = dict(raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        raw.close()
        assert tables["contacts"].rstrip().endswith("WITHOUT ROWID")
        assert tables["list_members"].rstrip().endswith("WITHOUT ROWID")

    def test_a_sandbox_made_with_a_rowid_contacts_table_still_works(
            self, tmp_path: Path) -> None:
        # Sandboxes made before contacts moved to WITHOUT ROWID keep their layout.
        made = tmp_path / "made.db"
        SandboxCRM(sqlite_url(made)).close()
        with sqlite3.connect(made) as raw:
            ddl = [sql.replace("WITHOUT ROWID", "") if name == "contacts" else sql
                   for name, sql in raw.execute(
                       "SELECT name, sql FROM sqlite_master"
                       " WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'")]
        raw.close()
        old = tmp_path / "old.db"
        with sqlite3.connect(old) as raw:
            for sql in ddl:
                raw.execute(sql)
        raw.close()
        crm = SandboxCRM(sqlite_url(old))
        try:
            crm.create_contacts([contact("ada@example.com", firstname="Ada"),
                                 contact("bob@example.com", city="Paris")])
            crm.update_contacts([("ada@example.com", {"city": "London"})])
            crm.create_list("Newsletter")
            crm.add_members("Newsletter", ["ada@example.com", "bob@example.com"])
            assert oks(crm.delete_contacts(["bob@example.com"])) == [True]
            assert contents(crm) == {"ada@example.com": {"firstname": "Ada",
                                                         "city": "London"}}
            assert list(crm.iter_memberships()) == [("Newsletter", "ada@example.com")]
        finally:
            crm.close()
        with sqlite3.connect(old) as raw:
            (sql,) = raw.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'contacts'").fetchone()
        raw.close()
        assert "WITHOUT ROWID" not in sql

    def test_nul_characters_are_stored(self, sqlite_crm: SandboxCRM) -> None:
        sqlite_crm.create_contacts([contact("ada@example.com", firstname="A\x00da")])
        assert contents(sqlite_crm) == {"ada@example.com": {"firstname": "A\x00da"}}

    def test_remove_from_missing_list_is_an_item_error(self, sqlite_crm: SandboxCRM) -> None:
        results = sqlite_crm.remove_members("Newsletter", ["ada@example.com"])
        assert results[0].error == "no such list"

    def test_empty_key_is_an_item_error(self, sqlite_crm: SandboxCRM) -> None:
        assert sqlite_crm.create_contacts([contact("")])[0].error == "empty key"

    def test_iteration_stops_exactly_at_a_page_boundary(self, sqlite_crm: SandboxCRM) -> None:
        keys = emails(1000)
        sqlite_crm.create_contacts([contact(key) for key in keys])
        sqlite_crm.create_list("Newsletter")
        sqlite_crm.add_members("Newsletter", keys)
        assert [r.key for r in sqlite_crm.iter_contacts()] == sorted(keys)
        assert len(list(sqlite_crm.iter_memberships())) == 1000

    def test_an_abandoned_iteration_holds_nothing_open(self, sqlite_crm: SandboxCRM) -> None:
        sqlite_crm.create_contacts([contact(key) for key in emails(1500)])
        stream = sqlite_crm.iter_contacts()
        next(stream)
        # Paging by key keeps no cursor between pages: a writer is not blocked meanwhile.
        assert oks(sqlite_crm.create_contacts([contact("late@example.com")])) == [True]
        del stream

    def test_two_writers_create_each_key_once(self, tmp_path: Path) -> None:
        url = sqlite_url(tmp_path / "sandbox.db")
        SandboxCRM(url).close()  # the schema exists before the race starts
        created = _race_to_create(url, emails(3000))
        assert sum(created) == 3000


@pytest.mark.postgres
class TestSandboxOnPostgreSQLOnly:
    def test_nul_characters_are_an_item_error(self, pg_crm: SandboxCRM) -> None:
        results = pg_crm.create_contacts([
            contact("ada@example.com", firstname="A\x00da"),
            contact("bob@example.com", firstname="Bob"),
        ])
        assert oks(results) == [False, True]
        assert results[0].error and "NUL" in results[0].error
        results = pg_crm.update_contacts([("bob@example.com", {"city": "\x00"})])
        assert oks(results) == [False]

    def test_two_writers_create_each_key_once(self, pg_crm: SandboxCRM, pg_url: str) -> None:
        created = _race_to_create(pg_url, emails(3000))
        assert sum(created) == 3000

    def test_an_unreachable_server_is_a_system_fault(self) -> None:
        with pytest.raises(SystemFault, match="sandbox database unavailable"):
            SandboxCRM("postgresql+psycopg://root@127.0.0.1:1/nowhere")


def _race_to_create(url: str, keys: list[str]) -> list[int]:
    """Two sandboxes on one database create the same keys at once, in batches of 500;
    how many each one created."""
    created = [0, 0]
    failures: list[BaseException] = []

    def work(slot: int) -> None:
        crm = SandboxCRM(url)
        try:
            for start in range(0, len(keys), 500):
                batch = [contact(key) for key in keys[start:start + 500]]
                created[slot] += sum(oks(crm.create_contacts(batch)))
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)
        finally:
            crm.close()

    threads = [threading.Thread(target=work, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return created


@pytest.mark.parametrize("total", [0, 1, 7, 512, 513, 1000, 1023, 5000])
def test_bulk_statements_come_in_a_few_lengths(total: int) -> None:
    """Pages of a power of two rows each, at most the cap, covering every row once, in order:
    statements of a few lengths only, so the drivers' statement caches hit."""
    pages = list(_sql._pages(total, 600))
    assert [start for start, _ in pages] == [sum(n for _, n in pages[:i])
                                             for i in range(len(pages))]
    assert sum(n for _, n in pages) == total
    assert all(n & (n - 1) == 0 and n <= 512 for _, n in pages)
    assert len(pages) <= total // 512 + 9


@pytest.mark.parametrize(
    "which", ["sqlite_crm", pytest.param("pg_crm", marks=pytest.mark.postgres)])
def test_adding_members_over_many_statements_tells_each_key_apart(
        which: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Added members are counted, not listed: a call whose keys were all added is told so by
    the count over every statement, with no look-up; any other call looks its keys up."""
    crm: SandboxCRM = request.getfixturevalue(which)
    keys = [f"m{i:04}@x.example" for i in range(2000)]        # three IN (...) statements
    crm.create_contacts([contact(key) for key in keys])
    crm.create_list("Fresh")
    crm.create_list("Busy")
    with monkeypatch.context() as patch:
        patch.setattr(_sql, "existing", _no_look_up)
        assert all(oks(crm.add_members("Fresh", [*keys, keys[0]])))
    assert crm.count_members("Fresh") == 2000
    crm.add_members("Busy", keys[1990:])                      # members already
    asked = [*keys, "nobody@x.example"]
    results = crm.add_members("Busy", asked)
    assert [r.key for r in results] == asked
    assert [i for i, r in enumerate(results) if not r.ok] == [2000]
    assert crm.count_members("Busy") == 2000


def _no_look_up(*_: object, **__: object) -> set[str]:
    raise AssertionError("every key was added: the count alone should have said so")
