"""Reading CSV files as people export them: `tools.csv_source`."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools import csv_source
from tools.csv_source import RowChunk, open_csv, sniff_delimiter
from tools.errors import CsvError

BOM = b"\xef\xbb\xbf"


def write(tmp_path: Path, data: bytes, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_all(path: Path, size: int = 1000) -> tuple[list[int], list[list[str]]]:
    """Every row number and row of the file, over all chunks."""
    numbers: list[int] = []
    rows: list[list[str]] = []
    with open_csv(path) as source:
        for chunk in source.chunks(size):
            numbers += chunk.row_numbers
            rows += chunk.rows
    return numbers, rows


# --- encodings and dialects -----------------------------------------------------------------

@pytest.mark.parametrize("bom", [b"", BOM])
def test_utf8_with_or_without_bom(tmp_path: Path, bom: bytes) -> None:
    path = write(tmp_path, bom + "Email,Name\na@x.com,Jörg\n".encode())
    with open_csv(path) as source:
        assert source.encoding == ("utf-8-sig" if bom else "utf-8")
        assert source.header == ["Email", "Name"]  # no BOM left in the first header
        assert [c.rows for c in source.chunks(10)] == [[["a@x.com", "Jörg"]]]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["email", "first name", "company"]) + "\n"
    text += delimiter.join(["a@x.com", "Ann", '"Acme, Inc; Ltd"']) + "\n"
    path = write(tmp_path, text.encode())
    with open_csv(path) as source:
        assert source.delimiter == delimiter
        assert source.header == ["email", "first name", "company"]
        assert next(source.chunks(10)).rows == [["a@x.com", "Ann", "Acme, Inc; Ltd"]]


def test_one_column_file_reads_with_a_comma(tmp_path: Path) -> None:
    path = write(tmp_path, b"email\na@x.com\nb@x.com\n")
    with open_csv(path) as source:
        assert source.delimiter == ","
        assert source.header == ["email"]
    assert read_all(path) == ([2, 3], [["a@x.com"], ["b@x.com"]])


@pytest.mark.parametrize(("sample", "expected"), [
    ("a,b,c\n1,2,3\n", ","),
    ("a;b;c\n1;2,5;3\n", ";"),            # a decimal comma inside a value
    ("a\tb\n1\t2,3;4\n", "\t"),
    ('"x;y",b\n1,2\n', ","),              # a quoted header holding another delimiter
    ("email\nsomeone@x.com\n", ","),      # one column: nothing to sniff
    ("name,notes;more\nA,b;c\n", ","),    # tie on consistency: the wider first row wins
])
def test_sniff_delimiter(sample: str, expected: str) -> None:
    assert sniff_delimiter(sample) == expected


# --- quoting, line ends, blank lines, row numbers --------------------------------------------

def test_quoted_values_with_delimiters_quotes_and_line_breaks(tmp_path: Path) -> None:
    data = (
        b'email,company,notes\r\n'
        b'a@x.com,"Acme, Inc.","said ""hi""\r\nthen left"\r\n'
        b'b@x.com,Beta,plain\r\n'
    )
    numbers, rows = read_all(write(tmp_path, data))
    assert rows == [
        ["a@x.com", "Acme, Inc.", 'said "hi"\r\nthen left'],
        ["b@x.com", "Beta", "plain"],
    ]
    assert numbers == [2, 4]  # the quoted line break makes the first record two lines long


def test_crlf_and_cr_line_ends_leave_no_carriage_returns(tmp_path: Path) -> None:
    for ending in (b"\r\n", b"\r"):
        path = write(tmp_path, ending.join([b"email,name", b"a@x.com,Ann", b"b@x.com,Bo", b""]))
        assert read_all(path) == ([2, 3], [["a@x.com", "Ann"], ["b@x.com", "Bo"]])


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    data = b"\n\nemail,name\n\na@x.com,Ann\n,\n   \n\r\nb@x.com,Bo\n\n"
    with open_csv(write(tmp_path, data)) as source:
        assert source.header_row == 3
        chunks = list(source.chunks(10))
    assert chunks == [RowChunk([5, 9], [["a@x.com", "Ann"], ["b@x.com", "Bo"]])]


def test_no_final_line_break(tmp_path: Path) -> None:
    assert read_all(write(tmp_path, b"email,name\na@x.com,Ann")) == ([2], [["a@x.com", "Ann"]])


def test_short_rows_are_padded_and_long_rows_cut_and_reported(tmp_path: Path) -> None:
    data = b"email,first,last\na@x.com\nb@x.com,Bo,Li,,\nc@x.com,Acme, Inc.,Li\n"
    with open_csv(write(tmp_path, data)) as source:
        chunk = next(source.chunks(10))
    assert chunk.rows == [
        ["a@x.com", "", ""],
        ["b@x.com", "Bo", "Li"],          # empty extra cells: dropped without a word
        ["c@x.com", "Acme", " Inc."],     # a non-empty extra cell: reported
    ]
    assert chunk.long_rows == {2: 4}


def test_header_cells_are_trimmed(tmp_path: Path) -> None:
    with open_csv(write(tmp_path, b" Email , First Name\t,\na@x.com,Ann,\n")) as source:
        assert source.header == ["Email", "First Name", ""]


# --- chunking ---------------------------------------------------------------------------------

def test_chunks_of_two_over_five_rows(tmp_path: Path) -> None:
    data = b"email\n" + b"".join(f"u{i}@x.com\n".encode() for i in range(5))
    with open_csv(write(tmp_path, data)) as source:
        chunks = list(source.chunks(2))
    assert [len(c.rows) for c in chunks] == [2, 2, 1]
    assert [n for c in chunks for n in c.row_numbers] == [2, 3, 4, 5, 6]
    assert chunks[2].rows == [["u4@x.com"]]


def test_header_only_file_has_no_chunks(tmp_path: Path) -> None:
    with open_csv(write(tmp_path, b"email,name\r\n\r\n")) as source:
        assert source.header == ["email", "name"]
        assert list(source.chunks(10)) == []


def test_chunk_size_must_be_positive(tmp_path: Path) -> None:
    with open_csv(write(tmp_path, b"email\na@x.com\n")) as source, pytest.raises(ValueError):
        next(source.chunks(0))


@pytest.mark.parametrize("block", [1, 2, 3, 5, 8, 64])
def test_blocks_cut_anywhere_give_the_same_rows(tmp_path: Path, block: int) -> None:
    """The reader's 1 MiB blocks, shrunk so that CRLFs, multi-byte characters and quoted
    line breaks fall across block ends."""
    data = (
        "\ufeffemail;note\r\n\r\na@x.com;\"multi\r\nline €\"\r\nb@x.com;ünïcödé\rc@x.com;x\n"
    ).encode()
    with mock.patch.object(csv_source, "BLOCK_BYTES", block):
        numbers, rows = read_all(write(tmp_path, data))
    assert rows == [["a@x.com", "multi\r\nline €"], ["b@x.com", "ünïcödé"], ["c@x.com", "x"]]
    assert numbers == [3, 5, 6]


# --- unreadable files -------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "message"), [
    (b"", "the file is empty"),
    (b"\n\r\n  \n", "no header row"),
    (b"email\x00,name\nx\n", "binary file"),
    (b"PK\x03\x04\x14\x00\x06\x00rest-of-xlsx", "Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel 97-2003"),
    (b"%PDF-1.7\n", "PDF"),
    (b"\xff\xfee\x00m\x00a\x00i\x00l\x00", "UTF-16"),
    (b"\x1f\x8b\x08\x00", "gzip"),
])
def test_unreadable_files_are_refused_naming_the_file(
    tmp_path: Path, data: bytes, message: str,
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(CsvError, match=message) as caught:
        open_csv(path)
    assert caught.value.file == str(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CsvError, match="file not found"):
        open_csv(tmp_path / "nope.csv")
    with pytest.raises(CsvError, match="is a directory"):
        open_csv(tmp_path)


def test_latin1_in_the_header_block_fails_at_open_with_row_and_offset(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name\na@x.com,Ann\nb@x.com,Jérôme\n".encode("latin-1"))
    with pytest.raises(CsvError) as caught:
        open_csv(path)
    assert caught.value.row == 3
    assert "not valid UTF-8: byte 0xe9 at byte offset 32" in str(caught.value)


def test_latin1_mid_file_fails_while_reading_chunks_with_its_row(tmp_path: Path) -> None:
    good = "".join(f"user{i}@x.com,Name {i}\n" for i in range(60_000))  # > one 1 MiB block
    data = ("email,name\n" + good + "late@x.com,Müller\n").encode("latin-1")
    path = write(tmp_path, data)
    with open_csv(path) as source:  # the header block is fine
        chunks = source.chunks(5000)
        with pytest.raises(CsvError) as caught:
            for _ in chunks:
                pass
    assert caught.value.row == 60_002
    assert caught.value.file == str(path)
    assert f"byte offset {len(data) - 6}" in str(caught.value)


def test_bad_byte_inside_a_multiline_record_names_its_physical_line(tmp_path: Path) -> None:
    data = b'email,note\na@x.com,"one\ntwo\nthr\xe9e"\n'
    with mock.patch.object(csv_source, "BLOCK_BYTES", 12), pytest.raises(CsvError) as caught:
        read_all(write(tmp_path, data))
    assert caught.value.row == 4


def test_nul_byte_mid_file(tmp_path: Path) -> None:
    data = b"email,name\na@x.com,Ann\nb@x.com,B\x00b\n"
    with mock.patch.multiple(csv_source, BLOCK_BYTES=16, SAMPLE_BYTES=16), \
            pytest.raises(CsvError) as caught:
        read_all(write(tmp_path, data))
    assert caught.value.row == 3
    assert "NUL" in str(caught.value)


def test_unclosed_quote_names_the_row_where_it_opens(tmp_path: Path) -> None:
    data = b'email,name\na@x.com,Ann\nb@x.com,"Bo\nc@x.com,Cy\n'
    with pytest.raises(CsvError, match="never closed") as caught:
        read_all(write(tmp_path, data))
    assert caught.value.row == 3


def test_text_after_a_closing_quote(tmp_path: Path) -> None:
    data = b'email,name\na@x.com,"Ann" Lee\n'
    with pytest.raises(CsvError, match="after a closing quote") as caught:
        read_all(write(tmp_path, data))
    assert caught.value.row == 2


# --- property: whatever csv.writer writes reads back cell for cell ----------------------------

_DELIMITERS = (",", ";", "\t")


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, list[list[str]]]:
    """A delimiter and a table of at least two columns whose cells may hold that delimiter,
    quotes, line breaks and any other text, but not the other two delimiters (a file whose
    cells hold every delimiter is ambiguous to any sniffer)."""
    delimiter = draw(st.sampled_from(_DELIMITERS))
    banned = "".join(d for d in _DELIMITERS if d != delimiter) + "\x00\r\ufeff"
    cell = st.text(st.characters(codec="utf-8", exclude_characters=banned), max_size=8)
    width = draw(st.integers(2, 5))
    header = draw(st.lists(cell, min_size=width, max_size=width).filter(
        lambda row: any(c.strip() for c in row)))
    body = draw(st.lists(st.lists(cell, min_size=width, max_size=width), max_size=12))
    return delimiter, [header, *body]


@settings(max_examples=150, deadline=None)
@given(
    table=tables(), bom=st.booleans(), crlf=st.booleans(),
    block=st.sampled_from([3, 17, 1024 * 1024]),
)
def test_any_written_table_reads_back_cell_for_cell(
    table: tuple[str, list[list[str]]], bom: bool, crlf: bool, block: int,
) -> None:
    delimiter, (header, *body) = table
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    writer.writerows([header, *body])
    data = (BOM if bom else b"") + text.getvalue().encode()
    with tempfile.TemporaryDirectory() as tmp, \
            mock.patch.object(csv_source, "BLOCK_BYTES", block):
        path = write(Path(tmp), data)
        with open_csv(path) as source:
            assert source.delimiter == delimiter
            assert source.header == [c.strip() for c in header]
            rows = [row for chunk in source.chunks(4) for row in chunk.rows]
    assert rows == [row for row in body if any(row)]
