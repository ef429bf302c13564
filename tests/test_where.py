"""The `--where` filter language: `tools.where`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.errors import InputError
from tools.where import MAX_DEPTH, MAX_LENGTH, Filter, WhereError, parse_where

UK = {"email": "jane@acme.co.uk", "country": "GB", "city": " London ", "phone": None,
      "company": "Acme Ltd", "jobtitle": "Head of Ops", "utm_term": "10"}
DE = {"email": "max@beispiel.de", "country": "de", "city": "", "company": "Beispiel GmbH",
      "utm_term": "9"}
BLANK: dict[str, str | None] = {"email": "who@example.com", "country": "   "}
RECORDS = {"UK": UK, "DE": DE, "BLANK": BLANK}


@pytest.mark.parametrize(("text", "matching"), [
    ("country = GB", {"UK"}),
    ("country = gb", {"UK"}),                          # case-insensitive
    ("COUNTRY = 'GB'", {"UK"}),                        # fields and keywords too
    ('country = "  GB "', {"UK"}),                     # values are trimmed
    ("city = london", {"UK"}),
    ("country != GB", {"DE", "BLANK"}),                # an empty field is "not GB"
    ("country is empty", {"BLANK"}),                   # blanks are empty
    ("country IS NOT EMPTY", {"UK", "DE"}),
    ("phone is empty", {"UK", "DE", "BLANK"}),         # None and missing are empty
    ("city is empty and country is not empty", {"DE"}),
    ("country in (gb, 'DE')", {"UK", "DE"}),
    ("country not in (gb)", {"DE", "BLANK"}),
    ("company contains ltd", {"UK"}),
    ("company startswith 'beispiel'", {"DE"}),
    ("email endswith .co.uk", {"UK"}),
    ("email endswith '@example.com'", {"BLANK"}),
    ("jobtitle contains 'of ops'", {"UK"}),
    ("utm_term > 9", {"UK"}),                          # numbers compare as numbers…
    ("utm_term < 10.5", {"UK", "DE"}),
    ("utm_term >= 10", {"UK"}),
    ("utm_term <= 9", {"DE"}),
    ("utm_term > '09'", {"UK"}),                       # quoted or not
    ("utm_term > a", set()),                           # …else as case-folded strings
    ("company < b", {"UK"}),
    ("company >= B", {"DE"}),
    ("country < z", {"UK", "DE"}),                     # an empty field never compares
    ("not country = gb", {"DE", "BLANK"}),
    ("not not country = gb", {"UK"}),
    ("country = gb or country = de", {"UK", "DE"}),
    ("country = gb or country = de and city is not empty", {"UK"}),   # and binds tighter
    ("(country = gb or country = de) and city is empty", {"DE"}),
    ("not (country = gb or country is empty)", {"DE"}),
    ("email = 'JANE@acme.co.uk' and utm_term = 10", {"UK"}),
    ("company = 'Acme Ltd'", {"UK"}),
    ("company = \"Acme Ltd\" or company = 'Beispiel GmbH'", {"UK", "DE"}),
    ("country = or", set()),                           # a keyword where a value goes is a value
])
def test_valid_expressions_match_the_records_they_describe(text: str, matching: set[str]) -> None:
    where = parse_where(text)
    assert {name for name, record in RECORDS.items() if where.matches(record)} == matching


@pytest.mark.parametrize(("text", "canonical"), [
    ("country=GB", 'country = "GB"'),
    ("  Country   =   'G\\'B'  ", 'country = "G\'B"'),
    ('city = "say \\"hi\\" \\\\ ok"', 'city = "say \\"hi\\" \\\\ ok"'),
    ("country IS NOT EMPTY", "country is not empty"),
    ("country NOT IN (gb,de , 'fr')", 'country not in ("gb", "de", "fr")'),
    ("company CONTAINS x", 'company contains "x"'),
    ("utm_term = 1", 'utm_term = "1"'),
    ("((country = gb))", 'country = "gb"'),
    ("country = a and (city = b and city = c)", 'country = "a" and city = "b" and city = "c"'),
    ("(country = a or city = b) and city = c", '(country = "a" or city = "b") and city = "c"'),
    ("country = a or (city = b and city = c)", 'country = "a" or city = "b" and city = "c"'),
    ("not (country = a and city = b)", 'not (country = "a" and city = "b")'),
    ("not not country is empty", "not not country is empty"),
])
def test_str_is_the_canonical_text(text: str, canonical: str) -> None:
    where = parse_where(text)
    assert str(where) == canonical
    assert str(parse_where(canonical)) == canonical
    assert parse_where(canonical) == where


def test_fields_names_every_field_read() -> None:
    where = parse_where("country = gb or (city is empty and not email contains x)")
    assert where.fields == frozenset({"country", "city", "email"})
    assert isinstance(where, Filter)


def test_the_allowed_fields_can_be_given() -> None:
    where = parse_where("domain = acme.com", fields=["domain", "name"])
    assert where.matches({"domain": "ACME.com"})
    with pytest.raises(WhereError, match="unknown field 'country'; known fields: domain, name"):
        parse_where("country = gb", fields=["domain", "name"])


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty expression"),
    ("   ", "empty expression"),
    ("country = 'x'; DROP TABLE contacts", "column 14: expected 'and', 'or' or end of input "
                                           "after \"'x'\", found ';'"),
    ("country = 'x' OR 1=1 --", "column 18: expected a field name, 'not' or '(' after 'OR', "
                                "found '1'"),
    ("country = x; --", "column 12:"),
    ("country = x /* comment */", "column 13:"),
    ("__import__('os').system('ls')", "column 1: unknown field '__import__'"),
    ("country = __import__('os')", "column 21: expected 'and', 'or' or end of input"),
    ("lambda: 1", "unknown field 'lambda'"),
    ("notes = 1", "column 1: unknown field 'notes'; known fields: city, company, country"),
    ("(country = gb", "column 14: expected ')', 'and' or 'or' after 'gb', found end of input"),
    ("country = gb)", "column 13: expected 'and', 'or' or end of input after 'gb', found ')'"),
    ("((country = gb)", "column 16: expected ')'"),
    ("country = gb and", "column 17: expected a field name, 'not' or '(' after 'and', "
                         "found end of input"),
    ("or country = gb", "column 1: expected a field name, 'not' or '(', found 'or'"),
    ("country = gb or or city = x", "column 17: expected a field name"),
    ("country =", "column 10: expected a value after '=', found end of input"),
    ("country == gb", "column 10: expected a value after '=', found '='"),
    ("country ~ gb", "column 9: expected an operator (=, !=, <, <=, >, >=, contains"),
    ("country <> gb", "column 10: expected a value after '<', found '>'"),
    ("country like 'g%'", "column 9: expected an operator"),
    ("country", "column 8: expected an operator"),
    ("country is", "expected 'not' or 'empty' after 'is'"),
    ("country is null", "column 12: expected 'not' or 'empty' after 'is', found 'null'"),
    ("country not gb", "column 13: expected 'in' after 'not', found 'gb'"),
    ("country in ()", "column 13: expected a value after '(', found ')'"),
    ("country in (a,)", "column 15: expected a value after ',', found ')'"),
    ("country in (a b)", "column 15: expected ',' or ')' after 'a', found 'b'"),
    ("country = 'unterminated", "column 11: expected a value after '=', found \"'\""),
    ("country = ''", "column 11: an empty value never matches"),
    ("country = gb city = x", "column 14: expected 'and', 'or' or end of input"),
    ("not", "column 4: expected a field name, 'not' or '(' after 'not', found end of input"),
    ("()", "column 2: expected a field name, 'not' or '(' after '(', found ')'"),
    ("country = $x", "column 11: expected a value after '=', found '$'"),
    ("country = `ls`", "column 11: expected a value after '=', found '`'"),
    ("1 = 1", "column 1: expected a field name, 'not' or '(', found '1'"),
    ("country = 'a\nb'", "column 11: expected a value"),
    ("\x00", "column 1: expected a field name, 'not' or '(', found '\\x00'"),
])
def test_invalid_expressions_are_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(WhereError) as caught:
        parse_where(text)
    said = str(caught.value)
    assert said.startswith("--where: ")
    assert message in said
    assert "\n" not in said and "Token" not in said and "lark" not in said.lower()
    assert isinstance(caught.value, InputError)


def test_long_input_is_refused_before_it_is_parsed() -> None:
    text = "country = gb or " * (MAX_LENGTH // 16) + "country = de"
    with pytest.raises(WhereError, match=f"at most {MAX_LENGTH}"):
        parse_where(text)


@pytest.mark.parametrize("text", [
    "not " * (MAX_DEPTH + 1) + "country = gb",
    "country = a and (" * MAX_DEPTH + "city = b" + " or city = c)" * MAX_DEPTH,
])
def test_deep_nesting_is_refused(text: str) -> None:
    with pytest.raises(WhereError, match=f"nested more than {MAX_DEPTH} levels deep"):
        parse_where(text)


def test_nesting_within_the_limit_and_redundant_parentheses_are_fine() -> None:
    assert parse_where("not " * (MAX_DEPTH - 2) + "country = gb").matches({"country": "gb"})
    assert parse_where("(" * 500 + "country = gb" + ")" * 500).matches({"country": "GB"})


# --- properties -------------------------------------------------------------------------

# Pieces of the language, so random input often gets past the first token.
_PIECES = st.sampled_from([
    "country", "city", "utm_term", "notes", "=", "!=", "<", "<=", ">", ">=", "==", "contains",
    "STARTSWITH", "endswith", "is", "not", "empty", "in", "and", "OR", "(", ")", ",", "'x'",
    '"a\\"b"', "'", '"', "1", "-2.5e3", "gb", "a@b.c", ";", "--", "\\", "__import__", "\n",
])


@settings(deadline=None)    # the first call builds the parser
@given(st.text(max_size=80) | st.lists(_PIECES, max_size=20).map(" ".join))
def test_any_text_parses_or_raises_where_error(text: str) -> None:
    try:
        parse_where(text)
    except WhereError as error:
        assert "\n" not in str(error)


_FIELDS = ["country", "city", "utm_term"]
_VALUES = st.sampled_from(["gb", "GB", " de ", "10", "9.5", "-1", "a'b", 'q"t', "x\\y", "",
                           "London", "lon", "don", "1e3"])
_LITERALS = st.sampled_from(["gb", "de", "10", "9.5", "-1", "1e3", "lon", "'a\\'b'",
                             '"q\\"t"', "'x\\\\y'", "' London '", "don"])


def _comparisons() -> st.SearchStrategy[str]:
    field = st.sampled_from(_FIELDS)
    op = st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "contains", "StartsWith", "endswith"])
    return st.one_of(
        st.tuples(field, op, _LITERALS).map(" ".join),
        st.tuples(field, st.sampled_from(["is empty", "IS NOT empty"])).map(" ".join),
        st.tuples(field, st.sampled_from(["in", "not in"]), st.lists(_LITERALS, min_size=1,
                  max_size=3).map(", ".join)).map(lambda p: f"{p[0]} {p[1]} ({p[2]})"),
    )


_EXPRESSIONS = st.recursive(
    _comparisons(),
    lambda inner: st.one_of(
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"not {e}"),
        st.tuples(inner, st.sampled_from(["and", "or", "AND"]), inner).map(" ".join),
    ),
    max_leaves=8,
)
_RECORDS = st.fixed_dictionaries({}, optional={f: st.none() | _VALUES for f in _FIELDS})


@settings(deadline=None)
@given(_EXPRESSIONS, st.lists(_RECORDS, min_size=1, max_size=5))
def test_the_canonical_text_means_the_same_filter(
    text: str, records: list[dict[str, str | None]],
) -> None:
    where = parse_where(text, _FIELDS)
    again = parse_where(str(where), _FIELDS)
    assert str(again) == str(where)
    assert again.fields == where.fields
    for record in records:
        assert again.matches(record) == where.matches(record)
