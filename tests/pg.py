"""Throwaway PostgreSQL databases for tests, on the server at 127.0.0.1:5432.

A test session creates its own database (named after a prefix and the process id, so
parallel workers do not collide), uses it, and drops it. A server that does not answer
fails the test with how to start it: a missing service must never pass silently.

    from tests.pg import throwaway_database

    @pytest.fixture(scope="session")
    def pg_url() -> Iterator[str]:
        with throwaway_database("mops_test_store") as url:
            yield url
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql

HOST = os.environ.get("MOPS_TEST_PG_HOST", "127.0.0.1")
PORT = int(os.environ.get("MOPS_TEST_PG_PORT", "5432"))
USER = os.environ.get("MOPS_TEST_PG_USER", "root")
# An existing database to connect to while creating and dropping the throwaway ones.
ADMIN_DB = os.environ.get("MOPS_TEST_PG_ADMIN_DB", "test")

START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection to the admin database, or a test failure saying why."""
    try:
        return psycopg.connect(
            host=HOST, port=PORT, user=USER, dbname=ADMIN_DB, autocommit=True,
            connect_timeout=5,
        )
    except psycopg.OperationalError as exc:
        reason = str(exc)
    # Failing outside the except block keeps psycopg's traceback out of the report.
    pytest.fail(
        f"PostgreSQL is not answering at {HOST}:{PORT} as {USER!r} "
        f"(database {ADMIN_DB!r}): {reason}\nStart it with: {START_HINT}",
        pytrace=False,
    )


def database_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` on the test server (psycopg 3 driver)."""
    return f"postgresql+psycopg://{USER}@{HOST}:{PORT}/{name}"


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """Create a fresh database ``<prefix>_<pid>``, yield its URL, drop it afterwards."""
    name = f"{prefix}_{os.getpid()}"
    ident = sql.Identifier(name)
    with admin_connection() as admin:
        # A database left by a killed run of this same pid would make CREATE fail.
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(ident)
        )
    try:
        yield database_url(name)
    finally:
        with admin_connection() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
