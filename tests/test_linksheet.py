"""A links CSV as a job's target: exact copies, durable cell writes, a restorable output."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.errors import CsvError, InputError
from tools.linkfile import open_links, rows, write_fixed
from tools.linksheet import LinkSheet, cells_path, check_output, sheet_uri

MESSY = (
    "\ufeffname;URL;note\r\n"
    "\r\n"
    'spring;"https://x.test/a?utm_source=FB&b=1#top";"a ""quoted"" note"\r\n'
    'multi;https://x.test/b?utm_medium=PPC;"line one\r\nline two"\r\n'
    "plain;https://x.test/c;\r\n"
)


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_rows_are_numbered_by_line_and_the_column_is_found_without_case(
        tmp_path: Path) -> None:
    links = open_links(_write(tmp_path / "in.csv", MESSY), column="url")
    assert links.column == "URL" and links.delimiter == ";"
    assert [(r.row, r.link) for r in rows(links)] == [
        (3, "https://x.test/a?utm_source=FB&b=1#top"),
        (4, "https://x.test/b?utm_medium=PPC"),
        (6, "https://x.test/c"),
    ]


def test_a_missing_column_names_the_file_and_the_headers(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.csv", MESSY)
    with pytest.raises(CsvError, match=r"in\.csv: no column 'link'.*'name', 'URL', 'note'"):
        open_links(path, column="link")


def test_unchanged_rows_are_copied_byte_for_byte(tmp_path: Path) -> None:
    links = open_links(_write(tmp_path / "in.csv", MESSY))
    out = tmp_path / "out.csv"
    assert write_fixed(links, out, {3: "https://x.test/a?utm_source=facebook&b=1#top"}) == 1
    # The changed row is written again in the file's dialect (quotes only where needed).
    expected = MESSY.replace('"https://x.test/a?utm_source=FB&b=1#top"',
                             "https://x.test/a?utm_source=facebook&b=1#top")
    assert out.read_bytes() == expected.encode("utf-8")
    write_fixed(links, out, {})
    assert out.read_bytes() == MESSY.encode("utf-8")


def test_written_cells_are_read_back_rendered_on_close_and_restorable(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.csv", MESSY)
    out = tmp_path / "out.csv"
    uri = sheet_uri(source, out, "url")
    sheet = LinkSheet(uri)
    assert sheet.read_cells(["4", "99"]) == {"4": {"URL": "https://x.test/b?utm_medium=PPC"}}
    results = sheet.write_cells([("4", {"URL": "https://x.test/b?utm_medium=cpc"}),
                                 ("99", {"URL": "https://x.test/nope"})])
    assert [(r.ok, r.error) for r in results] == [(True, None), (False, "no such row")]
    sheet.close()
    assert out.read_text(encoding="utf-8-sig").count("utm_medium=cpc") == 1
    again = LinkSheet(uri)   # another connection (another worker) sees the write
    assert again.read_cells(["4"]) == {"4": {"URL": "https://x.test/b?utm_medium=cpc"}}
    again.write_cells([("4", {"URL": "https://x.test/b?utm_medium=PPC"})])
    again.close()
    assert out.read_bytes() == source.read_bytes()


def test_an_output_that_would_lose_a_file_is_refused(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.csv", MESSY)
    with pytest.raises(InputError, match="--out is the input file"):
        check_output(source, source)
    theirs = _write(tmp_path / "theirs.csv", "a,b\n")
    with pytest.raises(InputError, match="theirs.csv: exists and was not written by mops"):
        check_output(source, theirs)
    cells_path(theirs).touch()
    check_output(source, theirs)   # written by mops before: it may be written again


def test_an_output_made_from_another_file_is_refused(tmp_path: Path) -> None:
    one = _write(tmp_path / "one.csv", MESSY)
    two = _write(tmp_path / "two.csv", MESSY)
    out = tmp_path / "out.csv"
    sheet = LinkSheet(sheet_uri(one, out, "url"))
    sheet.write_cells([("3", {"URL": "https://x.test/z"})])
    sheet.close()
    with pytest.raises(InputError, match="was made from .*one.csv"):
        LinkSheet(sheet_uri(two, out, "url")).write_cells([("3", {"URL": "x"})])
