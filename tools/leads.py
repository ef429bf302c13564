"""Leads from a CSV file: read, map, trim, validate and normalise, a chunk at a time.

This is the whole reading path of a list upload. Per row: every mapped cell is trimmed and
an empty cell is absent (it never blanks a value); the e-mail is lower-cased and must pass
`email_problem`; a country becomes its ISO 3166 alpha-2 code; a phone becomes E.164 where it
parses, with the row's country as the default region. A row that fails gives one
`LeadReject` (the first problem found: cells beyond the header, then e-mail, then country)
and no `Lead`. Duplicates are left for the planner.

Work is done a chunk at a time: e-mails vectorised in polars; countries and phones once per
distinct value (and memoised across chunks by `tools.normalize`); the other fields trimmed in
one pass over the rows. With helpers (`read_leads(..., helpers=N)`), each chunk's phones are
parsed in helper processes (`tools.phone_pool`) while the next chunks are read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from types import TracebackType

import polars as pl

from tools.collector import paused
from tools.columns import ColumnMap, map_columns
from tools.csv_source import CsvSource, RowChunk, open_csv
from tools.normalize import email_problems, normalize_country
from tools.phone_pool import PendingPhones, PhoneKey, PhoneParser

# Fields normalised beyond a trim, each by its own column-wise step.
_SPECIAL = frozenset({"email", "country", "phone"})


@dataclass(frozen=True, slots=True)
class Lead:
    """One accepted row: its row number, e-mail, and its other non-empty, normalised fields."""

    row: int
    email: str
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class LeadReject:
    """A row that gives no lead, and why; `field` and `value` name the culprit if one cell is."""

    row: int
    field: str | None
    reason: str
    value: str | None


@dataclass(frozen=True, slots=True)
class LeadChunk:
    """The leads and the rejects of one chunk of rows, each in row order."""

    leads: list[Lead]
    rejects: list[LeadReject]


class LeadReader:
    """An open lead file: its header, how its columns map, and its leads as a stream.

    Get one from `read_leads`; use it as a context manager so the file is closed.
    """

    def __init__(self, source: CsvSource, columns: ColumnMap, helpers: int = 0) -> None:
        self._source = source
        self.path: str = source.path
        self.header: list[str] = source.header
        self.columns = columns
        self._phones = PhoneParser(helpers)

    def chunks(self, size: int = 5000) -> Iterator[LeadChunk]:
        """The leads and rejects of the next `size` rows at a time (the file is read once).

        With helpers, a few chunks are started (their phones handed over) before the oldest
        is finished and given out. Raises CsvError mid-stream if the file turns out
        unreadable further on (after giving out every chunk read before the bad one).
        """
        rows = self._source.chunks(size)
        started: deque[_Started] = deque()
        failed: Exception | None = None
        while True:
            with paused():
                try:
                    chunk = next(rows, None) if failed is None else None
                except Exception as exc:    # given out once the chunks before it are
                    chunk, failed = None, exc
                if chunk is not None:
                    started.append(_start(chunk, self.columns, self._phones))
                    del chunk  # its row lists die now, before the collector scans them
                    if len(started) <= self._phones.ahead:
                        continue
                if not started:
                    if failed is not None:
                        raise failed
                    return
                leads = started.popleft().finish()
            yield leads

    def close(self) -> None:
        """Close the file, and stop the helpers."""
        try:
            self._phones.close()
        finally:
            self._source.close()

    def __enter__(self) -> LeadReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_leads(path: str | Path, overrides: Mapping[str, str] | None = None,
               helpers: int = 0) -> LeadReader:
    """Open a lead file and map its columns (`overrides` are `--map HEADER=field` pairs);
    `helpers` processes parse its phones (see `tools.phone_pool.helpers_for`).

    Raises CsvError if the file cannot be read or has no e-mail column, InputError for a
    bad override; nothing is read beyond the header until `chunks` is iterated.
    """
    source = open_csv(path)
    try:
        columns = map_columns(source.header, overrides or {}, file=source.path)
    except BaseException:
        source.close()
        raise
    return LeadReader(source, columns, helpers)


def normalize_chunk(chunk: RowChunk, columns: ColumnMap) -> LeadChunk:
    """Turn a chunk of raw rows into leads and rejects (see the module docstring)."""
    return _start(chunk, columns, PhoneParser()).finish()


@dataclass(slots=True)
class _Started:
    """A chunk normalised but for its phones, which are being parsed."""

    numbers: list[int]
    emails: list[str]
    fields: list[dict[str, str]]
    problems: dict[int, LeadReject]
    phones: list[PhoneKey] | None       # each row's phone key, if the file has phones
    parsed: PendingPhones | None        # the distinct keys' parse

    def finish(self) -> LeadChunk:
        """The chunk's leads and rejects, once its phones are parsed."""
        if self.phones is not None and self.parsed is not None:
            done = dict(zip(self.parsed.keys, self.parsed.result(), strict=True))
            _merge(self.fields, "phone", [done[key] if key[0] else "" for key in self.phones])
        leads = _leads(self.numbers, self.emails, self.fields, self.problems)
        return LeadChunk(leads, [self.problems[i] for i in sorted(self.problems)])


def _start(chunk: RowChunk, columns: ColumnMap, phones: PhoneParser) -> _Started:
    """Normalise a chunk and hand its distinct phones to `phones` to parse."""
    rows, numbers = chunk.rows, chunk.row_numbers
    where = {name: index for index, name in columns.fields.items()}
    problems = _long_rows(chunk)
    emails = _emails([row[where["email"]] for row in rows], numbers, problems)
    fields = _plain_fields(rows, {i: n for i, n in columns.fields.items() if n not in _SPECIAL})
    countries: list[str] | None = None
    if "country" in where:
        countries = _countries(_column(rows, where["country"]), numbers, problems)
        _merge(fields, "country", countries)
    keys = parsed = None
    if "phone" in where:
        keys = _phone_keys(_column(rows, where["phone"]), countries)
        parsed = phones.submit([key for key in set(keys) if key[0]])
    return _Started(numbers, emails, fields, problems, keys, parsed)


def _long_rows(chunk: RowChunk) -> dict[int, LeadReject]:
    """A reject for each row with more non-empty cells than the header has columns.

    Usually a value holding an unquoted delimiter ("Acme, Inc."), which shifts every cell
    after it: the row's other values cannot be trusted either.
    """
    return {
        index: LeadReject(
            chunk.row_numbers[index], None,
            f"the row has {cells} cells but the header has {len(chunk.rows[index])} "
            "(a value with an unquoted delimiter?)", None)
        for index, cells in chunk.long_rows.items()
    }


def _plain_fields(rows: list[list[str]], plain: dict[int, str]) -> list[dict[str, str]]:
    """Per row, the trimmed non-empty cells of the columns that need no more than a trim.

    Built row by row in one comprehension: the hottest loop of the reader.
    """
    names = tuple(plain.values())
    if not names:
        return [{} for _ in rows]
    indexes = list(plain)
    cells: Callable[[list[str]], tuple[str, ...]] = (
        itemgetter(*indexes) if len(indexes) > 1 else lambda row: (row[indexes[0]],))
    return [
        {name: value
         for name, cell in zip(names, cells(row), strict=True) if (value := cell.strip())}
        for row in rows
    ]


def _column(rows: list[list[str]], index: int) -> list[str]:
    return [row[index].strip() for row in rows]


def _merge(fields: list[dict[str, str]], name: str, column: list[str]) -> None:
    """Set `name` in each row's fields where the column's value is not empty."""
    for values, value in zip(fields, column, strict=True):
        if value:
            values[name] = value


def _emails(raw: list[str], rows: list[int], problems: dict[int, LeadReject]) -> list[str]:
    """The column trimmed and lower-cased; a reject for each empty or invalid address."""
    series = pl.Series(raw, dtype=pl.String).str.strip_chars().str.to_lowercase()
    for index, problem in email_problems(series).items():
        if index in problems:
            continue
        value = raw[index].strip()
        reason = "empty email" if not value else f"invalid email {value!r}: {problem}"
        problems[index] = LeadReject(rows[index], "email", reason, value or None)
    return series.to_list()


def _countries(
    column: list[str], rows: list[int], problems: dict[int, LeadReject],
) -> list[str]:
    """The column as alpha-2 codes ("" stays ""); a reject for each unrecognised country."""
    codes = {value: normalize_country(value) for value in set(column) if value}
    found = {value: code or "" for value, code in codes.items()}
    found[""] = ""
    unknown = {value for value, code in codes.items() if code is None}
    if unknown:
        for index, value in enumerate(column):
            if value in unknown:
                problems.setdefault(index, LeadReject(
                    rows[index], "country", f"unrecognised country {value!r}", value))
    return list(map(found.__getitem__, column))


def _phone_keys(column: list[str], regions: list[str] | None) -> list[PhoneKey]:
    """Each row's phone and the region it is parsed in: the row's country, if it has one."""
    if regions is None:
        return [(value, "") for value in column]
    # A number written with "+country code" does not depend on the region: one key.
    return [(value, "" if value[:1] == "+" else region)
            for value, region in zip(column, regions, strict=True)]


def _leads(
    numbers: list[int], emails: list[str], fields: list[dict[str, str]],
    problems: dict[int, LeadReject],
) -> list[Lead]:
    """A Lead for each row without a problem."""
    if not problems:
        return list(map(Lead, numbers, emails, fields))
    rows = zip(numbers, emails, fields, strict=True)
    return [Lead(*row) for index, row in enumerate(rows) if index not in problems]
