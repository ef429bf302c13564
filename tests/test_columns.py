"""Mapping lead-file headers to contact fields: `tools.columns`."""

from __future__ import annotations

import pytest

from tools import columns
from tools.columns import SYNONYMS, ColumnMap, map_columns, normalize_header
from tools.errors import CsvError, InputError
from tools.fields import CONTACT_FIELD_NAMES

FILE = "leads.csv"


@pytest.mark.parametrize(("text", "folded"), [
    ("Email", "email"),
    ("  E-Mail  Address* ", "e mail address"),
    ("Country/Region", "country region"),
    ("utm_source", "utm source"),
    ("First_Name", "first name"),
    ("Prénom", "prenom"),
    ("PHONE #", "phone"),
    ("", ""),
])
def test_normalize_header(text: str, folded: str) -> None:
    assert normalize_header(text) == folded


@pytest.mark.parametrize(("header", "field"), [
    # HubSpot
    ("Email", "email"), ("First Name", "firstname"), ("Last Name", "lastname"),
    ("Company Name", "company"), ("Job Title", "jobtitle"), ("Phone Number", "phone"),
    ("Mobile Phone Number", "phone"), ("Country/Region", "country"), ("City", "city"),
    ("Website URL", "website"),
    # Salesforce
    ("Title", "jobtitle"), ("Account Name", "company"), ("Mailing Country", "country"),
    ("Lead Source", "lead_source"), ("Mobile", "phone"),
    # Marketo, LinkedIn lead gen, Eventbrite, spreadsheets
    ("Email Address", "email"), ("E-mail", "email"), ("e-mail address", "email"),
    ("Work Email", "email"), ("firstName", "firstname"), ("Given name", "firstname"),
    ("Surname", "lastname"), ("Family Name", "lastname"), ("Organization", "company"),
    ("Organisation", "company"), ("Telephone", "phone"), ("Work Phone", "phone"),
    ("Country Code", "country"), ("Web site", "website"), ("URL", "website"),
    ("utm_source", "utm_source"), ("UTM Source", "utm_source"), ("utm-medium", "utm_medium"),
    ("UTM_Campaign", "utm_campaign"), ("utm_term", "utm_term"), ("utm_content", "utm_content"),
    ("lead_source", "lead_source"), ("Vorname", "firstname"), ("Nachname", "lastname"),
    ("E-Mail-Adresse", "email"), ("Prénom", "firstname"),
])
def test_synonyms(header: str, field: str) -> None:
    assert SYNONYMS[normalize_header(header)] == field
    assert map_columns(["Email", header] if field != "email" else [header], {}, file=FILE) \
        .fields[0 if field == "email" else 1] == field


def test_synonyms_name_real_fields_and_no_spelling_names_two() -> None:
    assert set(SYNONYMS.values()) <= set(CONTACT_FIELD_NAMES)
    assert all(SYNONYMS[normalize_header(name)] == name for name in CONTACT_FIELD_NAMES)
    owners: dict[str, set[str]] = {}
    for field, spellings in columns._SPELLINGS.items():
        for spelling in spellings:
            owners.setdefault(normalize_header(spelling), set()).add(field)
    assert {key: names for key, names in owners.items() if len(names) > 1} == {}


def test_unknown_columns_are_reported_in_order_not_guessed() -> None:
    header = ["Full Name", "Email Address", "Notes", "", "Source", "First Name"]
    assert map_columns(header, {}, file=FILE) == ColumnMap(
        fields={1: "email", 5: "firstname"},
        unknown=["Full Name", "Notes", "(column 4, no header)", "Source"],
        ignored=[],
    )


def test_override_maps_an_unknown_header() -> None:
    mapped = map_columns(["Mail of the person", "Src"], {
        "Mail of the person": "email", "Src": "lead_source"}, file=FILE)
    assert mapped.fields == {0: "email", 1: "lead_source"}
    assert mapped.unknown == []


def test_override_matches_a_header_loosely_and_a_field_case_insensitively() -> None:
    mapped = map_columns(["E-Mail", "Work_Phone"], {"work phone": " Phone "}, file=FILE)
    assert mapped.fields == {0: "email", 1: "phone"}


@pytest.mark.parametrize("ignore", ["-", "ignore", "IGNORE"])
def test_override_ignores_a_column(ignore: str) -> None:
    mapped = map_columns(["Email", "Phone", "City"], {"Phone": ignore}, file=FILE)
    assert mapped.fields == {0: "email", 2: "city"}
    assert mapped.ignored == ["Phone"]


def test_two_columns_for_one_field_is_an_error_naming_both() -> None:
    with pytest.raises(InputError) as caught:
        map_columns(["Email", "Phone", "Mobile"], {}, file=FILE)
    message = str(caught.value)
    assert message.startswith(f"{FILE}, field 'phone': ")
    assert "'Phone' (column 2)" in message and "'Mobile' (column 3)" in message
    assert "--map 'Mobile=-'" in message


def test_an_override_resolves_a_clash() -> None:
    # Ignore one of them ...
    mapped = map_columns(["Email", "Phone", "Mobile"], {"Mobile": "-"}, file=FILE)
    assert mapped.fields == {0: "email", 1: "phone"}
    # ... or give the field to one: the other synonym is then left out, and said so.
    mapped = map_columns(["Email", "Work Email", "Phone"], {"Work Email": "email"}, file=FILE)
    assert mapped.fields == {1: "email", 2: "phone"}
    assert mapped.ignored == ["Email"]


def test_override_of_a_missing_header_lists_the_headers() -> None:
    with pytest.raises(InputError) as caught:
        map_columns(["Email", "Name"], {"Mobile": "phone"}, file=FILE)
    assert str(caught.value) == (
        f"{FILE}: --map 'Mobile': no such column; the headers are: 'Email', 'Name'")
    assert not isinstance(caught.value, CsvError)


def test_override_to_an_unknown_field_lists_the_fields() -> None:
    with pytest.raises(InputError) as caught:
        map_columns(["Email", "Name"], {"Name": "fullname"}, file=FILE)
    message = str(caught.value)
    assert "unknown field 'fullname'" in message
    assert ", ".join(CONTACT_FIELD_NAMES) in message


def test_two_overrides_to_one_field() -> None:
    with pytest.raises(InputError, match="two columns: 'A' and 'B'"):
        map_columns(["Email", "A", "B"], {"A": "city", "B": "city"}, file=FILE)


def test_override_of_a_duplicated_header_is_ambiguous() -> None:
    with pytest.raises(InputError, match="appears in columns 2 and 3"):
        map_columns(["Email", "Notes", "Notes"], {"Notes": "city"}, file=FILE)
    # Unmapped duplicates are harmless: both are reported.
    assert map_columns(["Email", "Notes", "Notes"], {}, file=FILE).unknown == ["Notes", "Notes"]


def test_no_email_column() -> None:
    with pytest.raises(CsvError) as caught:
        map_columns(["Name", "Phone"], {}, file=FILE)
    assert str(caught.value) == (
        f"{FILE}: no email column (headers: 'Name', 'Phone'); use --map HEADER=email")
    with pytest.raises(CsvError, match="no email column"):
        map_columns(["Email", "Name"], {"Email": "-"}, file=FILE)


def test_no_email_column_when_the_header_row_is_missing() -> None:
    with pytest.raises(CsvError, match="is the header row missing"):
        map_columns(["ann@x.com", "Ann"], {}, file=FILE)
