"""Static lists and their members on one connection, in bulk."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.engine import Connection

from tools.records import WriteResult
from tools.results import MISSING, NO_LIST, failed, results
from tools.sandbox import _sql
from tools.sandbox._schema import LIST_MEMBERS, LISTS

# Every membership call looks its list up: built once, it costs a fifth of one made per call.
_LIST_ID = select(LISTS.c.id).where(LISTS.c.name == bindparam("b_name"))


def list_id(conn: Connection, name: str) -> int | None:
    """The id of the list called `name`, if there is one."""
    return conn.scalar(_LIST_ID, {"b_name": name})


def create(conn: Connection, name: str) -> WriteResult:
    """Create an empty list; an existing name is an error."""
    if not name:
        return failed(name, "empty list name")
    if list_id(conn, name) is not None:
        return failed(name, "list already exists")
    conn.execute(insert(LISTS).values(name=name))
    return WriteResult(key=name, ok=True)


def drop(conn: Connection, name: str) -> WriteResult:
    """Delete a list and its memberships; a missing list is an error."""
    found = list_id(conn, name)
    if found is None:
        return failed(name, NO_LIST)
    # Explicit, so it holds even where the foreign key's cascade is not enforced.
    conn.execute(delete(LIST_MEMBERS).where(LIST_MEMBERS.c.list_id == found))
    conn.execute(delete(LISTS).where(LISTS.c.id == found))
    return WriteResult(key=name, ok=True)


def members(conn: Connection, name: str, keys: Sequence[str]) -> set[str]:
    """Which of `keys` are members of the list `name` (none if there is no such list)."""
    found = list_id(conn, name)
    return set() if found is None else _sql.members(conn, found, keys)


def count(conn: Connection, name: str) -> int:
    """How many members the list has (0 if it does not exist)."""
    found = list_id(conn, name)
    if found is None:
        return 0
    query = select(func.count()).select_from(LIST_MEMBERS).where(LIST_MEMBERS.c.list_id == found)
    return int(conn.execute(query).scalar_one())


def add(conn: Connection, name: str, keys: Sequence[str]) -> list[WriteResult]:
    """Add contacts to a list; members already in it are fine, unknown contacts are not."""
    found = list_id(conn, name)
    if found is None:
        return results(keys, dict.fromkeys(range(len(keys)), NO_LIST))
    if _sql.add_members(conn, found, keys) == len(set(keys)):
        return results(keys, {})      # every key was a contact, and is a member now
    # Some keys were members already, or are not contacts at all: look which.
    contacts = _sql.existing(conn, keys)
    return results(keys, {i: MISSING for i, key in enumerate(keys) if key not in contacts})


def remove(conn: Connection, name: str, keys: Sequence[str]) -> list[WriteResult]:
    """Remove contacts from a list; removing a non-member is fine."""
    found = list_id(conn, name)
    if found is None:
        return results(keys, dict.fromkeys(range(len(keys)), NO_LIST))
    _sql.remove_members(conn, found, keys)
    return results(keys, {})


def names(conn: Connection) -> list[tuple[int, str]]:
    """Every list as (id, name), in name order."""
    rows = conn.execute(select(LISTS.c.id, LISTS.c.name).order_by(LISTS.c.name))
    return [(row[0], row[1]) for row in rows]
