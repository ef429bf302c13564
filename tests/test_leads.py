"""The whole reading path of a list upload: `tools.leads`."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tools.errors import CsvError, InputError
from tools.leads import Lead, LeadChunk, LeadReject, read_leads

MESSY = (
    "\ufeffE-mail Address;First Name;Last Name;Phone;Country/Region;Job Title;Notes\r\n"  # 1
    "  Ann.Lee@Example.COM ;  Ann ; Lee ;030 1234567; Germany ;  ;first\r\n"              # 2
    "\r\n"                                                                                 # 3
    "bob@example.com;Bob;;(415) 555-0100;usa;CTO;\"multi\r\nline\"\r\n"                  # 4-5
    "not-an-email;Cy;;;;;\r\n"                                                             # 6
    ";Di;;;;;\r\n"                                                                         # 7
    "eve@example.com;Eve;;+44 20 7946 0000;Narnia;;\r\n"                                  # 8
    "fay@example.com;Fay;;n/a;;;\r\n"                                                      # 9
    "gus@example.com;Gus;;+44 20 7946 0000;;;\r\n"                                        # 10
    "hal@example.com;Hal;;030 1234567;;;\r\n"                                              # 11
)


def write(tmp_path: Path, text: str | bytes, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def read(path: Path, size: int = 100, overrides: Mapping[str, str] | None = None,
         ) -> list[LeadChunk]:
    with read_leads(path, overrides) as reader:
        return list(reader.chunks(size))


def test_a_messy_file_reads_as_normalised_leads_and_reasoned_rejects(tmp_path: Path) -> None:
    [chunk] = read(write(tmp_path, MESSY))
    assert chunk.leads == [
        Lead(2, "ann.lee@example.com", {
            "firstname": "Ann", "lastname": "Lee", "phone": "+49301234567", "country": "DE"}),
        Lead(4, "bob@example.com", {
            "firstname": "Bob", "phone": "+14155550100", "country": "US", "jobtitle": "CTO"}),
        Lead(9, "fay@example.com", {"firstname": "Fay", "phone": "n/a"}),
        Lead(10, "gus@example.com", {"firstname": "Gus", "phone": "+442079460000"}),
        # No country, so no region: a national number is kept as written.
        Lead(11, "hal@example.com", {"firstname": "Hal", "phone": "030 1234567"}),
    ]
    assert chunk.rejects == [
        LeadReject(6, "email", "invalid email 'not-an-email': missing @", "not-an-email"),
        LeadReject(7, "email", "empty email", None),
        LeadReject(8, "country", "unrecognised country 'Narnia'", "Narnia"),
    ]


def test_reader_reports_its_header_and_columns(tmp_path: Path) -> None:
    path = write(tmp_path, MESSY)
    with read_leads(path) as reader:
        assert reader.path == str(path)
        assert reader.header[0] == "E-mail Address"
        assert reader.columns.fields == {
            0: "email", 1: "firstname", 2: "lastname", 3: "phone", 4: "country", 5: "jobtitle"}
        assert reader.columns.unknown == ["Notes"]


def test_one_reject_per_row_the_first_problem_found(tmp_path: Path) -> None:
    text = "email,country,name\nbad,Narnia,A\nok@x.com,Narnia,B,C and more,x\n"
    [chunk] = read(write(tmp_path, text))
    assert chunk.leads == []
    assert chunk.rejects == [
        LeadReject(2, "email", "invalid email 'bad': missing @", "bad"),
        LeadReject(3, None, "the row has 5 cells but the header has 3 "
                            "(a value with an unquoted delimiter?)", None),
    ]


def test_empty_cells_are_absent_and_never_blank_a_value(tmp_path: Path) -> None:
    text = "email,first name,last name,company,city\nA@X.COM, , ,\t,\n"
    [chunk] = read(write(tmp_path, text))
    assert chunk.leads == [Lead(2, "a@x.com", {})]


def test_every_mapped_field_is_trimmed(tmp_path: Path) -> None:
    text = ("email,website,lead source,utm_source,utm_medium,utm_campaign,utm_term,utm_content\n"
            "a@x.com, x.com , Web , g , cpc , spring , shoes , ad1 \n")
    [chunk] = read(write(tmp_path, text))
    assert chunk.leads[0].fields == {
        "website": "x.com", "lead_source": "Web", "utm_source": "g", "utm_medium": "cpc",
        "utm_campaign": "spring", "utm_term": "shoes", "utm_content": "ad1"}


def test_a_file_with_only_an_email_column(tmp_path: Path) -> None:
    [chunk] = read(write(tmp_path, "Email\nann@x.com\n\nbob@x.com\n"))
    assert chunk.leads == [Lead(2, "ann@x.com", {}), Lead(4, "bob@x.com", {})]


def test_duplicates_are_left_to_the_planner(tmp_path: Path) -> None:
    [chunk] = read(write(tmp_path, "email\nann@x.com\nANN@x.com\n"))
    assert [lead.email for lead in chunk.leads] == ["ann@x.com", "ann@x.com"]


def test_overrides_map_and_ignore_columns(tmp_path: Path) -> None:
    text = "Contact,Phone,Mobile,Where\nann@x.com,+1 415 555 0100,+1 415 555 0199,Berlin\n"
    [chunk] = read(write(tmp_path, text), overrides={
        "Contact": "email", "Mobile": "-", "Where": "city"})
    assert chunk.leads == [Lead(2, "ann@x.com", {"phone": "+14155550100", "city": "Berlin"})]


def test_bad_overrides_and_missing_email_column_fail_before_any_row(tmp_path: Path) -> None:
    path = write(tmp_path, "Name,Phone\nAnn,1\n")
    with pytest.raises(CsvError, match="no email column"):
        read_leads(path)
    with pytest.raises(InputError, match="no such column"):
        read_leads(path, {"Mail": "email"})
    with pytest.raises(InputError, match="unknown field 'mail'"):
        read_leads(path, {"Name": "mail"})


def test_chunks_of_two_over_five_rows(tmp_path: Path) -> None:
    text = "email\nu1@x.com\nbad\n\nu3@x.com\nu4@x.com\nu5@x.com\n"
    chunks = read(write(tmp_path, text), size=2)
    assert len(chunks) == 3
    rows = [[lead.row for lead in c.leads] + [r.row for r in c.rejects] for c in chunks]
    assert [sorted(r) for r in rows] == [[2, 3], [5, 6], [7]]
    assert chunks[0].rejects == [LeadReject(3, "email", "invalid email 'bad': missing @", "bad")]


def test_header_only_file_gives_no_leads(tmp_path: Path) -> None:
    assert read(write(tmp_path, "Email,First Name\r\n")) == []


def test_invalid_utf8_mid_file_fails_while_reading_with_its_row(tmp_path: Path) -> None:
    body = "".join(f"user{i}@x.com,Name {i}\n" for i in range(60_000))
    path = write(tmp_path, ("email,name\n" + body + "z@x.com,Zoë\n").encode("latin-1"))
    with read_leads(path) as reader:
        chunks: Iterator[LeadChunk] = reader.chunks(5000)
        assert len(next(chunks).leads) == 5000
        with pytest.raises(CsvError, match="not valid UTF-8") as caught:
            for _ in chunks:
                pass
    assert caught.value.row == 60_002


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was(tmp_path: Path, enabled: bool) -> None:
    path = write(tmp_path, MESSY)
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with read_leads(path) as reader:
            for _ in reader.chunks(2):
                assert gc.isenabled() is enabled  # while the caller holds a chunk
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
