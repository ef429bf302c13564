"""Contact reads and writes on one connection, in bulk.

These functions neither open nor commit transactions; `SandboxCRM` does, one per call.
Records read back carry the non-empty fields only: an absent field is an empty one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from tools.changes import FieldValues
from tools.fields import WRITABLE_FIELDS
from tools.records import Record, WriteResult
from tools.results import EXISTS, MISSING, results
from tools.sandbox import _sql
from tools.sandbox._sql import Row

_WRITABLE = frozenset(WRITABLE_FIELDS)


def read(conn: Connection, keys: Sequence[str]) -> dict[str, Record]:
    """The contacts among `keys`, by key."""
    return {record.key: record for record in to_records(_sql.read(conn, keys))}


def page(conn: Connection, after: str | None, size: int) -> list[Record]:
    """Up to `size` contacts in key order, starting after the key `after`."""
    return to_records(_sql.page(conn, after, size))


def to_records(rows: Sequence[Row]) -> list[Record]:
    """Records from rows of (email, *WRITABLE_FIELDS), without their empty fields."""
    return [
        Record(row[0], {name: value for name, value in zip(WRITABLE_FIELDS, row[1:],
                                                           strict=True) if value is not None})
        for row in rows
    ]


def field_error(fields: FieldValues, *, strict_text: bool) -> str | None:
    """Why these fields cannot be written, or None if they can."""
    if not fields.keys() <= _WRITABLE:
        name = sorted(set(fields) - _WRITABLE)[0]
        return f"field {name!r} is not a writable contact field"
    if strict_text:
        for name, value in fields.items():
            if value and "\x00" in value:
                return f"field {name!r} contains a NUL character"
    return None


def _strict_text(conn: Connection) -> bool:
    # PostgreSQL text cannot hold NUL: refuse such a value as an item error up front,
    # rather than have the whole statement fail. (SQLite stores it; checking costs time.)
    return conn.dialect.name == "postgresql"


def create(conn: Connection, records: Sequence[Record]) -> list[WriteResult]:
    """Insert the records whose keys are new; the others are item errors."""
    strict = _strict_text(conn)
    errors: dict[int, str] = {}
    seen: set[str] = set()
    valid: list[Record] = []
    for index, record in enumerate(records):
        key, fields = record.key, record.fields
        error = _create_error(key, seen) or field_error(fields, strict_text=strict)
        if error:
            errors[index] = error
            continue
        seen.add(key)
        valid.append(record)
    # One statement for every row: the fields any of them sets, NULL where a row sets none
    # (a new row's unset column is NULL anyway).
    names = _columns(valid)
    inserted = _sql.insert_new(conn, ("email", *names), [
        (r.key, *map(r.fields.get, names)) for r in valid]) if valid else set()
    if len(inserted) < len(seen):  # taken by contacts that existed before this call
        for index, record in enumerate(records):
            if index not in errors and record.key not in inserted:
                errors[index] = EXISTS
    return results([record.key for record in records], errors)


def _columns(records: Sequence[Record]) -> tuple[str, ...]:
    """The writable fields any of `records` sets, in table order."""
    named: set[str] = set()
    for record in records:
        named.update(record.fields)
    return tuple(name for name in WRITABLE_FIELDS if name in named)


def _create_error(key: str, seen: set[str]) -> str | None:
    if not key:
        return "empty key"
    if key in seen:  # a second record with the same key in one call
        return EXISTS
    return None


def update_many(conn: Connection, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
    """Set fields of existing contacts: one bulk UPDATE per set of field names."""
    strict = _strict_text(conn)
    errors: dict[int, str] = {}
    # Merge repeated keys first, so that grouping by field names cannot reorder two updates
    # of one contact; the later value of a field wins, as if applied in order.
    merged: dict[str, FieldValues] = {}
    for index, (key, fields) in enumerate(updates):
        error = field_error(fields, strict_text=strict)
        if error:
            errors[index] = error
        else:
            merged[key] = {**merged[key], **fields} if key in merged else fields
    # The contacts among the keys, locked: each found is updated (an update of no fields
    # only asks whether the contact exists).
    found = _sql.existing(conn, list(merged), lock=True) if merged else set()
    groups: dict[tuple[str, ...], list[Row]] = {}
    for key, fields in merged.items():
        if fields and key in found:
            groups.setdefault(tuple(fields), []).append((key, *fields.values()))
    for names, rows in groups.items():
        _sql.update(conn, names, rows)
    for index, (key, _) in enumerate(updates):
        if key not in found:
            errors.setdefault(index, MISSING)
    return results([key for key, _ in updates], errors)


def delete_many(conn: Connection, keys: Sequence[str]) -> list[WriteResult]:
    """Delete contacts and their memberships; a missing key is an item error."""
    deleted = _sql.delete(conn, sorted(keys))      # in key order, neighbours together
    return results(keys, {i: MISSING for i, key in enumerate(keys) if key not in deleted})
