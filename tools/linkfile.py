"""A CSV file of campaign links, read record by record with each record's exact text.

A link fix changes one cell (the link) of some rows and nothing else, so the fixed file is
written from the original's own text: a row that does not change is copied byte for byte
(its quoting, its line end); a row that changes is written again by the `csv` module in the
file's dialect, ending as it ended. The encoding, a byte-order mark, the delimiter and the
line ends of the original are kept.

Rows are numbered as `tools.csv_source` numbers them (the physical line a record starts on;
the header is row 1 when it is on the first line): that number is a link's key in a plan.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tools.csv_source import open_csv
from tools.errors import CsvError

_ENDINGS = ("\r\n", "\n", "\r")


@dataclass(frozen=True)
class LinkFile:
    """An open-able CSV of links: its dialect and the column that holds the links."""

    path: Path
    encoding: str
    delimiter: str
    column: str
    index: int
    header_row: int


@dataclass(frozen=True, slots=True)
class LinkRow:
    """One data row: its number, its cells and the link in it."""

    row: int
    cells: list[str]
    link: str


def open_links(path: str | Path, column: str = "url") -> LinkFile:
    """Check `path` is a readable CSV with a `column` (matched without regard to case or
    surrounding spaces); CsvError names the file, and the headers it has if the column
    is missing."""
    with open_csv(path) as source:
        wanted = column.strip().casefold()
        matches = [i for i, h in enumerate(source.header) if h.casefold() == wanted]
        if not matches:
            raise CsvError(f"no column {column!r} holding the links (the header has: "
                           f"{', '.join(repr(h) for h in source.header)}); name it with "
                           "--column", file=str(path))
        if len(matches) > 1:
            raise CsvError(f"the column {column!r} appears {len(matches)} times in the header",
                           file=str(path))
        return LinkFile(Path(path), source.encoding, source.delimiter,
                        source.header[matches[0]], matches[0], source.header_row)


def rows(links: LinkFile) -> Iterator[LinkRow]:
    """The data rows (after the header, blank lines skipped), with their links."""
    for number, cells, _ in _records(links):
        if number > links.header_row and not _blank(cells):
            link = cells[links.index] if links.index < len(cells) else ""
            yield LinkRow(number, cells, link)


def write_fixed(links: LinkFile, out: Path, links_by_row: Mapping[int, str]) -> int:
    """Write `out`: the original file with the link of each row in `links_by_row` replaced.

    The file is written beside `out` and renamed over it, so a reader never sees half of
    it. Returns how many rows were written differently from the original.
    """
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    changed = 0
    try:
        with tmp.open("w", encoding=links.encoding, newline="") as sink:
            for number, cells, text in _records(links):
                new = links_by_row.get(number)
                if new is None or number <= links.header_row or _blank(cells):
                    sink.write(text)
                    continue
                cells = list(cells)
                cells.extend([""] * (links.index + 1 - len(cells)))
                if cells[links.index] == new:
                    sink.write(text)
                    continue
                cells[links.index] = new
                sink.write(_serialise(cells, links.delimiter, _ending(text)))
                changed += 1
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return changed


def _records(links: LinkFile) -> Iterator[tuple[int, list[str], str]]:
    """Every record (blank ones too) with the line it starts on and its exact text."""
    consumed: list[str] = []
    line = 0
    with links.path.open(encoding=links.encoding, newline="") as handle:
        def feed() -> Iterator[str]:
            for text in handle:
                consumed.append(text)
                yield text

        reader = csv.reader(feed(), delimiter=links.delimiter, strict=True)
        try:
            for cells in reader:
                start, line = line + 1, reader.line_num
                text = "".join(consumed)
                consumed.clear()
                yield start, cells, text
        except csv.Error as exc:
            raise CsvError(f"cannot parse the CSV: {exc}", file=str(links.path),
                           row=line + 1) from None
        except UnicodeDecodeError:
            raise CsvError("bytes that are not UTF-8 text", file=str(links.path),
                           row=line + 1) from None
    if consumed:   # text after the last record that the reader did not return
        yield line + 1, [], "".join(consumed)


def _blank(cells: list[str]) -> bool:
    return not any(cells) or (len(cells) == 1 and cells[0].isspace())


def _ending(text: str) -> str:
    return next((e for e in _ENDINGS if text.endswith(e)), "")


def _serialise(cells: list[str], delimiter: str, ending: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=ending).writerow(cells)
    return buffer.getvalue()
