"""Read a CSV file as people really export it, in bounded chunks of rows.

Accepted: UTF-8 with or without a byte-order mark; `,`, `;` or tab as the delimiter (sniffed
from the first 64 KiB); quoted values, including delimiters and line breaks inside quotes;
LF, CRLF or CR line ends; blank lines; rows shorter or longer than the header.

Refused with a `CsvError` naming the file (and the row where there is one): a missing or
empty file, a binary file (NUL bytes, a ZIP/Excel/PDF signature), UTF-16 text, bytes that
are not UTF-8, a file without a header row, broken quoting.

The file is read in blocks of 1 MiB, decoded strictly and parsed by the `csv` module, so
memory holds one block and one chunk of rows, whatever the size of the file.

A row's number is the physical line where its record starts, as a text editor numbers lines:
the header, on the first line, is row 1; blank lines are skipped but counted. That is the
row a spreadsheet shows, except below a quoted value holding line breaks (a spreadsheet
shows that record as one row, a text editor as several).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from tools.errors import CsvError

DELIMITERS = (",", ";", "\t")
SAMPLE_BYTES = 64 * 1024
BLOCK_BYTES = 1024 * 1024
# A "line" this long without a line break is not a CSV someone exported.
MAX_LINE_BYTES = 16 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe", "UTF-16 text; save it as 'CSV UTF-8'"),
    (b"\xfe\xff", "UTF-16 text; save it as 'CSV UTF-8'"),
    (b"PK\x03\x04", "an Excel workbook or ZIP archive, not CSV; export it as 'CSV UTF-8'"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook, not CSV; export it as 'CSV UTF-8'"),
    (b"%PDF", "a PDF document, not CSV"),
    (b"\x1f\x8b", "a gzip-compressed file; decompress it first"),
)
# Why `csv` stopped, in words a person fixing the file can act on.
_CSV_HINTS = {
    "unexpected end of data": "a quoted value is never closed (its quote opens in this row)",
    "expected after": 'text after a closing quote (a quote inside a quoted value is written "")',
    "field larger than field limit": "a value is too long (an unclosed quote in this row?)",
}


@dataclass(frozen=True, slots=True)
class RowChunk:
    """Consecutive non-blank rows of a CSV file, each as wide as the header.

    `long_rows` maps a position in `rows` to the number of cells the row really had, for rows
    with non-empty cells beyond the header (cut off here; usually a value with an unquoted
    delimiter, which shifts every later cell). Empty extra cells are dropped silently.
    """

    row_numbers: list[int]
    rows: list[list[str]]
    long_rows: dict[int, int] = field(default_factory=dict)


class CsvSource:
    """An open CSV file: its dialect, its header, and its remaining rows as a stream.

    Open it with `open_csv`; use it as a context manager so the file is closed.
    """

    def __init__(self, path: str, raw: BinaryIO, encoding: str, delimiter: str) -> None:
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        self._raw = raw
        start = len(_BOM) if encoding == "utf-8-sig" else 0
        raw.seek(start)
        lines = itertools.chain.from_iterable(_decoded_lines(raw, start))
        self._reader = csv.reader(lines, delimiter=delimiter, strict=True)
        self.header_row, header = self._read_header()
        self.header: list[str] = [cell.strip() for cell in header]

    def _read_header(self) -> tuple[int, list[str]]:
        """The first non-blank record, and the line it starts on."""
        reader = self._reader
        end = reader.line_num
        try:
            for row in reader:
                start, end = end + 1, reader.line_num
                if not _blank(row):
                    return start, row
        except (csv.Error, _BadBytes) as exc:
            raise self._failure(exc, end + 1) from None
        raise CsvError("no header row (the file holds only blank lines)", file=self.path)

    def chunks(self, size: int) -> Iterator[RowChunk]:
        """The rows after the header, `size` at a time (the last chunk may be shorter).

        The file is a stream: rows a previous call consumed are not read again.
        """
        if size < 1:
            raise ValueError(f"chunk size must be at least 1, not {size}")
        reader, width = self._reader, len(self.header)
        numbers: list[int] = []
        rows: list[list[str]] = []
        long_rows: dict[int, int] = {}
        end = reader.line_num
        try:
            # The hot loop of the reader, hence inline rather than split into helpers.
            for row in reader:
                start, end = end + 1, reader.line_num
                if not any(row) or (len(row) == 1 and row[0].isspace()):
                    continue  # `_blank`, inline
                if len(row) != width and (cells := _fit(row, width)):
                    long_rows[len(rows)] = cells
                numbers.append(start)
                rows.append(row)
                if len(rows) == size:
                    yield RowChunk(numbers, rows, long_rows)
                    numbers, rows, long_rows = [], [], {}
        except (csv.Error, _BadBytes) as exc:
            raise self._failure(exc, end + 1) from None
        if rows:
            yield RowChunk(numbers, rows, long_rows)

    def _failure(self, exc: csv.Error | _BadBytes, record_start: int) -> CsvError:
        """The CsvError for a failure while reading the record that starts at `record_start`."""
        if isinstance(exc, _BadBytes):
            row = self._reader.line_num + 1 + exc.breaks_before
            return CsvError(exc.problem, file=self.path, row=row)
        hint = next((h for key, h in _CSV_HINTS.items() if key in str(exc)), str(exc))
        return CsvError(f"cannot parse the CSV: {hint}", file=self.path, row=record_start)

    def close(self) -> None:
        """Close the file."""
        self._raw.close()

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _blank(row: list[str]) -> bool:
    """A blank line parses as [] (or [" "]), a line of bare delimiters as ["", "", ...]."""
    return not any(row) or (len(row) == 1 and row[0].isspace())


class _BadBytes(Exception):
    """Bytes that are not CSV text, found by the line reader inside one of its blocks.

    It cannot know the row: `breaks_before` counts the line breaks of the block before the
    bad byte, and the csv reader, which has read every line before the block, adds its own.
    """

    def __init__(self, problem: str, breaks_before: int) -> None:
        super().__init__(problem)
        self.problem, self.breaks_before = problem, breaks_before


def _fit(row: list[str], width: int) -> int:
    """Pad a short row or cut a long one to `width` cells, in place.

    Returns how many cells the row had if the cut removed a non-empty one, else 0.
    """
    cells = len(row)
    if cells < width:
        row.extend([""] * (width - cells))
        return 0
    lost = any(cell.strip() for cell in row[width:])
    del row[width:]
    return cells if lost else 0


def open_csv(path: str | Path) -> CsvSource:
    """Open a CSV file of leads: check it is UTF-8 text, sniff its delimiter, read its header.

    Raises CsvError naming the file when it is missing, empty, binary, not UTF-8, has no
    header row or cannot be parsed.
    """
    name = str(path)
    raw = _open_binary(Path(path), name)
    try:
        sample = raw.read(SAMPLE_BYTES)
        encoding = _check_sample(sample, name)
        complete = len(sample) < SAMPLE_BYTES
        delimiter = sniff_delimiter(_sample_text(sample, encoding, complete=complete))
        return CsvSource(name, raw, encoding, delimiter)
    except BaseException:
        raw.close()
        raise


def _open_binary(path: Path, name: str) -> BinaryIO:
    if not path.exists():
        raise CsvError("file not found", file=name)
    if path.is_dir():
        raise CsvError("is a directory, not a CSV file", file=name)
    try:
        return path.open("rb")
    except OSError as exc:
        raise CsvError(f"cannot open the file: {exc.strerror or exc}", file=name) from None


def _check_sample(sample: bytes, name: str) -> str:
    """The encoding of a file starting with `sample`, or CsvError if it is not CSV text."""
    if not sample:
        raise CsvError("the file is empty", file=name)
    for signature, what in _SIGNATURES:
        if sample.startswith(signature):
            raise CsvError(f"this is {what}", file=name)
    if b"\x00" in sample:
        raise CsvError("this is a binary file (it holds NUL bytes), not CSV text", file=name)
    return "utf-8-sig" if sample.startswith(_BOM) else "utf-8"


def _sample_text(sample: bytes, encoding: str, *, complete: bool) -> str:
    """The sample as text, cut after its last line break unless it is the whole file.

    Undecodable bytes are replaced here: reading the rows reports them with their row.
    """
    if not complete:
        cut = max(sample.rfind(b"\n"), sample.rfind(b"\r"))
        sample = sample[: cut + 1] if cut >= 0 else sample
    return sample.decode(encoding, errors="replace")


def sniff_delimiter(sample: str) -> str:
    """The delimiter among `,` `;` tab that splits `sample` into the most regular table.

    A candidate must split the first row into at least two cells; among those, the one
    giving the most rows as wide as the first wins, then the widest first row. With no
    candidate (a one-column file) the answer is a comma.
    """
    best, best_score = ",", (0.0, 1)
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            rows = [row for row in itertools.islice(reader, 200) if any(row)]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(len(row) == width for row in rows) / len(rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _decoded_lines(raw: BinaryIO, offset: int) -> Iterator[io.StringIO]:
    """The rest of `raw` (from byte `offset`), as one iterable of lines per block of ~1 MiB.

    Blocks end after a line break, so no character or CRLF is split between two blocks.
    Decoding is strict: a byte that is not UTF-8, or a NUL, raises `_BadBytes`.
    """
    carry = b""
    while True:
        data = raw.read(BLOCK_BYTES)
        buffer = carry + data
        if not data:
            if buffer:
                yield io.StringIO(_decode(buffer, offset), newline="")
            return
        cut = _last_line_end(buffer)
        if cut == 0:
            if len(buffer) > MAX_LINE_BYTES:
                raise _BadBytes("a line longer than 16 MiB: is this a CSV file?", 0)
            carry = buffer
            continue
        block, carry = buffer[:cut], buffer[cut:]
        yield io.StringIO(_decode(block, offset), newline="")
        offset += cut


def _last_line_end(buffer: bytes) -> int:
    """The index just after the last line break of `buffer` that is surely complete, or 0.

    A CR as the very last byte may be the first half of a CRLF, so it does not count.
    """
    lf = buffer.rfind(b"\n")
    if lf >= 0:
        return lf + 1
    return buffer.rfind(b"\r", 0, len(buffer) - 1) + 1


def _decode(block: bytes, offset: int) -> str:
    """`block` (at byte `offset` of the file) decoded as UTF-8; `_BadBytes` if it is not."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BadBytes(
            f"not valid UTF-8: byte 0x{block[exc.start]:02x} at byte offset "
            f"{offset + exc.start} (Latin-1 or Windows-1252?); save the file as 'CSV UTF-8'",
            _count_line_breaks(block[: exc.start].decode("utf-8")),
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise _BadBytes("binary data (a NUL byte) in a CSV file", _count_line_breaks(text[:nul]))
    return text


def _count_line_breaks(text: str) -> int:
    """Line breaks as universal newlines count them: LF, CR, and CRLF as one."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")
