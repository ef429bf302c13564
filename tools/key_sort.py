"""Sorting a stream by key in bounded memory.

A SQL target keeps its keys in B-tree indexes. Batches whose keys come in file order touch
pages all over those indexes, and each batch's commit writes every page it touched; in key
order each batch touches a few neighbouring pages. At a million contacts, batches of random
keys took 4.6 times as long to write as the same batches in key order (docs/benchmarks.md).

Up to `SPILL` items are sorted in memory. Past that they are written, encoded, to a private
temporary SQLite database on disk, whose sorter merges them in bounded memory; the database
is deleted when it is closed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

SPILL = 10_000


class KeySort(Generic[T]):
    """Items added with a key, given back in key order (stable: items of the same key keep
    the order they were added in). Keys compare by code point, in memory as on disk."""

    def __init__(self, encode: Callable[[T], bytes], decode: Callable[[bytes], T],
                 spill: int | None = None) -> None:
        self._encode, self._decode = encode, decode
        self._spill = SPILL if spill is None else spill
        self._held: list[tuple[str, int, T]] = []
        self._db: sqlite3.Connection | None = None
        self._added = 0

    def add(self, key: str, item: T) -> None:
        """Hold `item` under `key`."""
        self._held.append((key, self._added, item))
        self._added += 1
        if len(self._held) >= self._spill:
            self._write_out()

    def pages(self, size: int) -> Iterator[list[T]]:
        """Every item added, in key order, `size` at a time; the sort is closed afterwards."""
        try:
            if self._db is None:
                held, self._held = self._held, []
                held.sort(key=_first_two)
                for start in range(0, len(held), size):
                    yield [item for _, _, item in held[start:start + size]]
                return
            self._write_out()
            rows = self._db.execute("SELECT item FROM held ORDER BY key, n")
            decode = self._decode
            while page := rows.fetchmany(size):
                yield [decode(blob) for (blob,) in page]
        finally:
            self.close()

    def close(self) -> None:
        """Drop whatever is held (the temporary database is deleted)."""
        self._held = []
        if self._db is not None:
            self._db.close()
            self._db = None

    def _write_out(self) -> None:
        if self._db is None:
            # "": a private database in a temporary file, deleted when it is closed.
            self._db = sqlite3.connect("", isolation_level=None)
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            # Let the sorter merge on a second thread (SQLite runs it without the GIL): a
            # fifth off sorting a million leads on this 2-core machine.
            self._db.execute("PRAGMA threads=2")
            self._db.execute("CREATE TABLE held (key TEXT NOT NULL, n INTEGER NOT NULL,"
                             " item BLOB NOT NULL)")
        encode = self._encode
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO held VALUES (?, ?, ?)",
                             ((key, n, encode(item)) for key, n, item in self._held))
        self._db.execute("COMMIT")
        self._held = []


def _first_two(entry: tuple[str, int, object]) -> tuple[str, int]:
    return entry[0], entry[1]
