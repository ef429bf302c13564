"""The sandbox's tables, and an engine tuned for them.

Contacts are keyed by e-mail; lists by an integer id with a unique name; memberships pair a
list with a contact. Keys sort by code point on every backend (``COLLATE "C"`` on
PostgreSQL, SQLite's default BINARY), so "key order" means the same thing everywhere.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    event,
    func,
)
from sqlalchemy.engine import Connection

from tools.errors import SystemFault
from tools.fields import WRITABLE_FIELDS

METADATA = MetaData()

# Code-point order on PostgreSQL too, whatever the database's locale.
_KEY = Text().with_variant(Text(collation="C"), "postgresql")


def _timestamp(name: str) -> Column[Any]:
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


CONTACTS = Table(
    "contacts",
    METADATA,
    Column("email", _KEY, primary_key=True),
    *(Column(name, Text, nullable=True) for name in WRITABLE_FIELDS),
    _timestamp("created_at"),
    _timestamp("updated_at"),
    # Rows kept in the key's B-tree (no rowid table on SQLite): a batch planned in key order
    # reads and writes a few neighbouring pages, where a rowid table scattered its updates
    # over the whole table (each page written to the WAL again at every batch's commit).
    # Measured on the benchmark's 1M-row upload: 7% faster end to end; 11% at 200k.
    sqlite_with_rowid=False,
)

# Every call the sandbox answered, when asked to record them: a rate limit is then measured
# where it matters, at the target, whichever processes made the calls.
CALLS = Table(
    "calls",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),          # time.time() on arrival
    Column("what", Text, nullable=False),
)

LISTS = Table(
    "lists",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", _KEY, nullable=False, unique=True),
    _timestamp("created_at"),
)

LIST_MEMBERS = Table(
    "list_members",
    METADATA,
    Column("list_id", Integer, ForeignKey(LISTS.c.id, ondelete="CASCADE"), primary_key=True),
    Column(
        "email", _KEY, ForeignKey(CONTACTS.c.email, ondelete="CASCADE"), primary_key=True,
    ),
    # Deleting a contact looks its memberships up by e-mail.
    Index("ix_list_members_email", "email"),
    # Rows are nothing but their key: keep them in the key's B-tree, with no rowid table.
    sqlite_with_rowid=False,
)

# Execution option marking a connection that will write (SQLite takes the write lock early).
WRITE_OPTION = "mops_sandbox_write"


# RETURNING (3.35) and UPDATE ... FROM (3.33), which the bulk statements use.
MIN_SQLITE = (3, 35)


def make_engine(url: str) -> Engine:
    """An engine for `url`; on SQLite with WAL, NORMAL sync, foreign keys, real BEGINs, and
    30 s to wait for another writer (helper processes write batches side by side)."""
    engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite")
                           else {})
    if engine.dialect.name == "sqlite":
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            engine.dispose()
            raise SystemFault(
                f"the sandbox needs SQLite {'.'.join(map(str, MIN_SQLITE))} or newer; "
                f"this Python has {sqlite3.sqlite_version}"
            )
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from issuing its own BEGINs (it skips them before SELECTs, which
        # would leave a write method's existence check outside its transaction).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Bulk writes land at random places in the key indexes: a bigger page cache
            # (32 MiB, filled on demand) and rarer checkpoints (each one fsyncs) cut the
            # time to load half a million contacts by a third.
            cursor.execute("PRAGMA cache_size=-32768")
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A writer takes the lock up front: a deferred transaction that read first would
        # fail with SQLITE_BUSY if another writer committed between its read and its write.
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
