"""The hot paths in plain SQL, handed to the driver's cursor as they are.

SQLAlchemy builds the schema, pools connections and runs the transactions; but its
per-row parameter and result processing costs more than SQLite's own insert, and the
sandbox must keep up with a bare script writing a million rows. So the statements that
touch every row (existence checks, reads, inserts, updates, member inserts) are written
here once, in SQL that SQLite (3.35+: RETURNING) and PostgreSQL share, and
run on the DBAPI cursor of the connection's current transaction. Identifiers are fixed
names, never user input. Written values pass through ``NULLIF(value, '')``: an empty
string is stored as NULL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPICursor

from tools.fields import WRITABLE_FIELDS

Row = tuple[Any, ...]

# Host parameters per statement: SQLite's limit since 3.32 (PostgreSQL allows 65535).
MAX_PARAMS = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
# Keys per IN (...): within SQLite's old limit of 999 variables.
IN_CHUNK = 900
CONTACT_COLUMNS = ", ".join(("email", *WRITABLE_FIELDS))


@contextmanager
def cursor(conn: Connection) -> Iterator[DBAPICursor]:
    """The DBAPI cursor of `conn`, inside whatever transaction `conn` has begun."""
    cur = conn.connection.cursor()
    try:
        yield cur
    finally:
        cur.close()


def placeholder(conn: Connection) -> str:
    """The driver's positional marker: ``?`` for sqlite3, ``%s`` for psycopg."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def in_chunks(keys: Sequence[str]) -> Iterator[list[str]]:
    """Distinct `keys` in slices for IN (...), each padded to one of a few lengths.

    Padding (with the slice's last key, which IN ignores) keeps the number of distinct
    statements small, so the drivers' prepared-statement caches hit.
    """
    distinct = list(dict.fromkeys(keys))
    for start in range(0, len(distinct), IN_CHUNK):
        chunk = distinct[start:start + IN_CHUNK]
        size = min(IN_CHUNK, 1 << (len(chunk) - 1).bit_length())
        yield chunk + [chunk[-1]] * (size - len(chunk))


@lru_cache(maxsize=64)
def _marks(ph: str, size: int) -> str:
    return ", ".join([ph] * size)


def existing(conn: Connection, keys: Sequence[str], lock: bool = False) -> set[str]:
    """Which of `keys` are contacts; with `lock`, locked until the transaction ends, so
    none is deleted before the caller writes it (PostgreSQL: ``FOR UPDATE``; a SQLite
    writer holds the database's write lock already)."""
    locking = " FOR UPDATE" if lock and conn.dialect.name == "postgresql" else ""
    return {row[0] for row in _select_in(conn, "email", keys, locking)}


def read(conn: Connection, keys: Sequence[str]) -> list[Row]:
    """Rows of (email, *WRITABLE_FIELDS) for the contacts among `keys`."""
    return _select_in(conn, CONTACT_COLUMNS, keys)


def _select_in(conn: Connection, columns: str, keys: Sequence[str],
               suffix: str = "") -> list[Row]:
    rows: list[Row] = []
    ph = placeholder(conn)
    with cursor(conn) as cur:
        for chunk in in_chunks(keys):
            cur.execute(
                f"SELECT {columns} FROM contacts WHERE email IN ({_marks(ph, len(chunk))})"
                + suffix,
                chunk,
            )
            rows.extend(cur.fetchall())
    return rows


def members(conn: Connection, list_id: int, keys: Sequence[str]) -> set[str]:
    """Which of `keys` are members of the list."""
    among: set[str] = set()
    ph = placeholder(conn)
    with cursor(conn) as cur:
        for chunk in in_chunks(keys):
            cur.execute(
                f"SELECT email FROM list_members WHERE list_id = {ph}"
                f" AND email IN ({_marks(ph, len(chunk))})",
                [list_id, *chunk],
            )
            among.update(row[0] for row in cur.fetchall())
    return among


def remove_members(conn: Connection, list_id: int, keys: Sequence[str]) -> None:
    """Take `keys` out of the list (keys that are not members are ignored)."""
    ph = placeholder(conn)
    with cursor(conn) as cur:
        for chunk in in_chunks(keys):
            cur.execute(
                f"DELETE FROM list_members WHERE list_id = {ph}"
                f" AND email IN ({_marks(ph, len(chunk))})",
                [list_id, *chunk],
            )


def delete(conn: Connection, keys: Sequence[str]) -> set[str]:
    """Delete the contacts among `keys` and their memberships (explicitly, so it holds even
    where the foreign key's cascade is not enforced); return the keys that were contacts.

    ``RETURNING`` tells which keys existed in the statement that deletes them: no read
    beforehand, and no window between a look and the delete."""
    deleted: set[str] = set()
    ph = placeholder(conn)
    with cursor(conn) as cur:
        for chunk in in_chunks(keys):
            marks = _marks(ph, len(chunk))
            cur.execute(f"DELETE FROM list_members WHERE email IN ({marks})", chunk)
            cur.execute(f"DELETE FROM contacts WHERE email IN ({marks}) RETURNING email", chunk)
            deleted.update(row[0] for row in cur.fetchall())
    return deleted


def page(conn: Connection, after: str | None, size: int) -> list[Row]:
    """Up to `size` rows of (email, *WRITABLE_FIELDS) in key order, after the key `after`."""
    ph = placeholder(conn)
    sql = f"SELECT {CONTACT_COLUMNS} FROM contacts"
    params: list[str | int]
    if after is None:
        sql, params = f"{sql} ORDER BY email LIMIT {ph}", [size]
    else:
        sql, params = f"{sql} WHERE email > {ph} ORDER BY email LIMIT {ph}", [after, size]
    with cursor(conn) as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def member_page(conn: Connection, list_id: int, after: str | None, size: int) -> list[str]:
    """Up to `size` members of a list in key order, after the key `after`."""
    ph = placeholder(conn)
    sql = f"SELECT email FROM list_members WHERE list_id = {ph}"
    params: list[str | int]
    if after is None:
        sql, params = f"{sql} ORDER BY email LIMIT {ph}", [list_id, size]
    else:
        sql, params = f"{sql} AND email > {ph} ORDER BY email LIMIT {ph}", [list_id, after, size]
    with cursor(conn) as cur:
        cur.execute(sql, params)
        return [row[0] for row in cur.fetchall()]


# Rows per multi-row statement: a power of two (see `_pages`), within SQLite's old limit.
PAGE_ROWS = 512


@lru_cache(maxsize=256)
def _insert_new(ph: str, names: tuple[str, ...], count: int) -> str:
    values = "(" + ", ".join([ph] + [f"NULLIF({ph}, '')"] * (len(names) - 1)) + ")"
    return (
        f"INSERT INTO contacts ({', '.join(names)}) VALUES {', '.join([values] * count)}"
        " ON CONFLICT (email) DO NOTHING RETURNING email"
    )


def insert_new(conn: Connection, names: tuple[str, ...], rows: Sequence[Row]) -> set[str]:
    """Insert rows of `names` (``email`` first) whose key is new; return the keys inserted.

    Multi-row INSERTs (`_pages`): ``ON CONFLICT DO NOTHING RETURNING`` tells which keys
    were new in the same statement, race-free, with no read beforehand.
    """
    return _returned_keys(conn, rows, len(names),
                          lambda ph, n: _insert_new(ph, names, n))


@lru_cache(maxsize=64)
def _update(ph: str, names: tuple[str, ...]) -> str:
    sets = ", ".join(f"{name} = NULLIF({ph}, '')" for name in names)
    return f"UPDATE contacts SET {sets}, updated_at = CURRENT_TIMESTAMP WHERE email = {ph}"


def update(conn: Connection, names: tuple[str, ...], rows: Sequence[Row]) -> None:
    """Set the columns `names` of contacts from rows of (email, *values). The keys must be
    contacts, locked by the caller's transaction (`existing(..., lock=True)`).

    One statement per set of names, run row by row with the driver's executemany: its
    text is the same for every batch, so it is prepared once.
    """
    with cursor(conn) as cur:
        cur.executemany(_update(placeholder(conn), names), [(*row[1:], row[0]) for row in rows])


def _pages(total: int, most: int) -> Iterator[tuple[int, int]]:
    """(start, rows) of pages covering `total` rows, each a power of two of at most `most`
    rows: a few statement texts serve every batch, so the drivers' caches of prepared
    statements hit (a statement of a new length is parsed anew, and a long one costs more
    to parse than to run)."""
    start, size = 0, 1 << (max(1, most).bit_length() - 1)
    while start < total:
        while size > total - start:
            size >>= 1
        yield start, size
        start += size


def _returned_keys(conn: Connection, rows: Sequence[Row], width: int,
                   statement: Callable[[str, int], str]) -> set[str]:
    """Run `statement(placeholder, rows in page)` page by page over rows of `width` values;
    the keys it RETURNs."""
    keys: set[str] = set()
    ph = placeholder(conn)
    with cursor(conn) as cur:
        for start, size in _pages(len(rows), min(PAGE_ROWS, MAX_PARAMS // width)):
            page = rows[start:start + size]
            cur.execute(statement(ph, size), [v for row in page for v in row])
            keys.update(row[0] for row in cur.fetchall())
    return keys


def add_members(conn: Connection, list_id: int, keys: Sequence[str]) -> int:
    """Make the contacts among `keys` members of the list; return how many were added.

    ``INSERT ... SELECT`` from contacts skips unknown keys (no foreign-key failure), and
    ``ON CONFLICT DO NOTHING`` skips members already there. The count (the driver's
    ``rowcount``: rows this statement inserted, not a trigger's) is all a caller needs when
    it equals the number of distinct keys: `in_chunks` never repeats a key across chunks
    and a contact's e-mail is unique, so it cannot exceed the contacts among `keys`. Asking
    which keys were added (``RETURNING``) cost a third of the statement.
    """
    added = 0
    ph = placeholder(conn)
    with cursor(conn) as cur:
        for chunk in in_chunks(keys):
            cur.execute(
                f"INSERT INTO list_members (list_id, email) SELECT {ph}, email FROM contacts"
                f" WHERE email IN ({_marks(ph, len(chunk))})"
                " ON CONFLICT DO NOTHING",
                [list_id, *chunk],
            )
            added += cur.rowcount
    return added
