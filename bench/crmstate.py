"""What a sandbox CRM database holds, as counts and one checksum, read with plain sqlite3.

Both sides of the benchmark must leave the CRM exactly as it was after a rollback, and
must leave it in the same state after applying. The checksum covers every contact's
e-mail and writable fields, every list name and every (list, contact) membership, in key
order. The `created_at`/`updated_at` columns are left out: an update stamps `updated_at`
and a rollback restores the fields the job wrote, not the time of the last write.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import TypedDict

from tools.fields import WRITABLE_FIELDS

_SEP, _END = "\x1f", "\x1e"


class CrmState(TypedDict):
    """Row counts and a sha256 over the CRM's content."""

    contacts: int
    lists: int
    members: int
    checksum: str


def crm_state(db: Path) -> CrmState:
    """Counts and checksum of the sandbox CRM in the SQLite file `db` (read-only)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        digest = hashlib.sha256()
        columns = ", ".join(("email", *WRITABLE_FIELDS))
        counts = []
        for query in (
            f"SELECT {columns} FROM contacts ORDER BY email",
            "SELECT name FROM lists ORDER BY name",
            "SELECT l.name, m.email FROM list_members m JOIN lists l ON l.id = m.list_id"
            " ORDER BY l.name, m.email",
        ):
            count = 0
            cur = conn.execute(query)
            while rows := cur.fetchmany(10_000):
                count += len(rows)
                digest.update("".join(
                    _SEP.join("" if v is None else v for v in row) + _END for row in rows
                ).encode())
            digest.update(b"\x1d")
            counts.append(count)
    finally:
        conn.close()
    return CrmState(contacts=counts[0], lists=counts[1], members=counts[2],
                    checksum=digest.hexdigest())
