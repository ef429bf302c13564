"""A CSV of links as a job's target: the fixed file, written through a cell store.

The fixed copy of a links file (`--out`) is the target of a UTM fix; the original is never
written. Each write lands first in a small SQLite file beside the output (a dot-file named
after it), committed before the write returns, so a batch the ledger records as applied is
durable even if the process dies before the CSV is rendered. Closing the sheet after writes
renders the output from the original and the stored cells (written aside, then renamed).
A rollback writes the original values back, so the rendered output is the original again.

A sheet is named by a URI that says all of this, so any worker can open it:
``file:///abs/out.csv?from=/abs/in.csv&column=url&sha256=…`` — the input is bound by its
hash: if its bytes change after the plan is made, nothing is written or rendered.
"""

from __future__ import annotations

import fcntl
import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import url2pathname

from tools.changes import FieldValues
from tools.errors import InputError
from tools.linkfile import LinkFile, open_links, rows, write_fixed
from tools.records import WriteResult

SCHEME = "file"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cells (row INTEGER PRIMARY KEY, value TEXT NOT NULL);
"""


def sheet_uri(source: str | Path, out: str | Path, column: str) -> str:
    """The target name of the fixed copy `out` of the links file `source`, bound to the
    source's content (sha256) as it is now: the target is part of the plan's digest, and a
    source changed after the plan was made is refused before anything is written."""
    fields = {"from": str(Path(source).resolve()), "column": column}
    if Path(source).is_file():
        fields["sha256"] = file_sha256(Path(source))
    return f"{Path(out).resolve().as_uri()}?{urlencode(fields)}"


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def is_sheet_uri(name: str) -> bool:
    """Whether a target name is a links sheet rather than a configured CRM."""
    return name.startswith(f"{SCHEME}://")


def cells_path(out: Path) -> Path:
    """Where the cell store of output `out` lives."""
    return out.with_name(f".{out.name}.mops.sqlite")


def check_output(source: str | Path, out: str | Path) -> None:
    """Refuse an output that is the input, or a file mops did not write (it would be lost)."""
    src, dst = Path(source).resolve(), Path(out).resolve()
    if src == dst:
        raise InputError("--out is the input file; the original is kept so a rollback can "
                         "restore it: choose another path", file=str(out))
    if dst.exists() and not cells_path(dst).exists():
        raise InputError("exists and was not written by mops; choose another --out or move "
                         "the file away", file=str(out))
    if dst.is_dir():
        raise InputError("is a directory", file=str(out))


class LinkSheet:
    """The fixed copy of a links file, as a `tools.sheet.Sheet`."""

    def __init__(self, uri: str) -> None:
        parts = urlsplit(uri)
        query = parse_qs(parts.query)
        if parts.scheme != SCHEME or "from" not in query:
            raise InputError(f"not a links target: {uri!r}")
        self.name = uri
        self.out = Path(url2pathname(parts.path))
        self.column = query.get("column", ["url"])[0]
        self.links: LinkFile = open_links(query["from"][0], self.column)
        self.sha256 = query.get("sha256", [None])[0]
        self._db: sqlite3.Connection | None = None
        self._original: dict[int, str] | None = None
        self._dirty = False

    def read_cells(self, keys: Sequence[str]) -> dict[str, FieldValues]:
        """The link of each row among `keys`: as last written, else as in the original."""
        stored = self._stored([int(k) for k in keys])
        original = self._originals()
        found: dict[str, FieldValues] = {}
        for key in keys:
            row = int(key)
            value = stored.get(row, original.get(row))
            if value is not None:
                found[key] = {self.links.column: value}
        return found

    def write_cells(self, updates: Sequence[tuple[str, FieldValues]]) -> list[WriteResult]:
        """Store the new links of existing rows, committed before returning."""
        original = self._originals()
        results, values = [], []
        for key, cells in updates:
            value = cells.get(self.links.column)
            if int(key) not in original:
                results.append(WriteResult(key=key, ok=False, error="no such row"))
            elif value is None:
                results.append(WriteResult(key=key, ok=False, error="a link cannot be emptied"))
            else:
                values.append((int(key), value))
                results.append(WriteResult(key=key, ok=True))
        db = self._connect()
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO cells (row, value) VALUES (?, ?) ON CONFLICT(row) "
                           "DO UPDATE SET value = excluded.value", values)
        self._dirty = self._dirty or bool(values)
        return results

    def render(self) -> int:
        """Write the output file from the original and the stored links; returns how many
        rows differ from the original. Renders are serialised by a lock on the store."""
        db = self._connect()
        with cells_path(self.out).open("rb") as handle:   # flock: apart from SQLite's locks
            fcntl.flock(handle, fcntl.LOCK_EX)
            stored = dict(db.execute("SELECT row, value FROM cells").fetchall())
            self._check_source()
            return write_fixed(self.links, self.out, stored)

    def close(self) -> None:
        """Render the output if this connection wrote, then close the store."""
        try:
            if self._dirty:
                self.render()
                self._dirty = False
        finally:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _stored(self, keys: list[int]) -> dict[int, str]:
        if not cells_path(self.out).exists():
            return {}
        db = self._connect()
        found: dict[int, str] = {}
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            marks = ",".join("?" * len(part))
            found.update(db.execute(f"SELECT row, value FROM cells WHERE row IN ({marks})",
                                    part).fetchall())
        return found

    def _originals(self) -> dict[int, str]:
        if self._original is None:
            self._check_source()
            self._original = {r.row: r.link for r in rows(self.links)}
        return self._original

    def _check_source(self) -> None:
        """Refuse a source whose bytes are not those the plan was made from."""
        if self.sha256 is not None and file_sha256(self.links.path) != self.sha256:
            raise InputError("changed since the plan was made: nothing is written; plan the "
                             "fix again", file=str(self.links.path))

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            path = cells_path(self.out)
            db = sqlite3.connect(path, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT OR IGNORE INTO meta VALUES ('from', ?)",
                           (str(self.links.path.resolve()),))
                source = db.execute("SELECT value FROM meta WHERE name='from'").fetchone()[0]
            if source != str(self.links.path.resolve()):
                db.close()
                raise InputError(f"was made from {source}, not from {self.links.path}; "
                                 "choose another --out", file=str(self.out))
            self._db = db
        return self._db
