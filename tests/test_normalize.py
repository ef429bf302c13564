"""E-mail syntax, countries and phones: `tools.normalize`."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.normalize import email_problem, email_problems, normalize_country, normalize_phone


@pytest.mark.parametrize(("value", "code"), [
    ("Germany", "DE"), ("germany", "DE"), (" GERMANY ", "DE"), ("DE", "DE"), ("de", "DE"),
    ("DEU", "DE"), ("276", "DE"), ("Deutschland", "DE"),
    ("UK", "GB"), ("United Kingdom", "GB"), ("Great Britain", "GB"), ("England", "GB"),
    ("GB", "GB"), ("GBR", "GB"),
    ("USA", "US"), ("U.S.A.", "US"), ("US", "US"), ("United States", "US"),
    ("United States of America", "US"), ("America", "US"),
    ("South Korea", "KR"), ("Korea, Republic of", "KR"), ("Republic of Korea", "KR"),
    ("North Korea", "KP"),
    ("The Netherlands", "NL"), ("Holland", "NL"), ("Nederland", "NL"),
    ("Türkiye", "TR"), ("Turkey", "TR"), ("Turkiye", "TR"),
    ("Côte d'Ivoire", "CI"), ("Cote d Ivoire", "CI"), ("Ivory Coast", "CI"),
    ("Viet Nam", "VN"), ("Vietnam", "VN"), ("Iran", "IR"), ("Russia", "RU"),
    ("Russian Federation", "RU"), ("Czech Republic", "CZ"), ("Czechia", "CZ"),
    ("Bolivia", "BO"), ("Tanzania", "TZ"), ("Taiwan", "TW"), ("Hong Kong", "HK"),
    ("Bosnia & Herzegovina", "BA"), ("St. Lucia", "LC"), ("Saint Lucia", "LC"),
    ("Democratic Republic of the Congo", "CD"), ("Congo", "CG"), ("UAE", "AE"),
    ("España", "ES"), ("Espana", "ES"), ("Österreich", "AT"), ("Schweiz", "CH"),
    ("Brasil", "BR"), ("México", "MX"),
])
def test_country_names_and_codes_become_alpha_2(value: str, code: str) -> None:
    assert normalize_country(value) == code


@pytest.mark.parametrize("value", [
    "", "  ", "Narnia", "Europe", "EU", "XX", "Korea", "Virgin Islands", "+49", "Germany!!x",
])
def test_unrecognised_countries_are_not_guessed(value: str) -> None:
    assert normalize_country(value) is None


@pytest.mark.parametrize(("value", "region", "expected"), [
    ("+1 (415) 555-0100", None, "+14155550100"),
    ("+1 415 555 0100", "DE", "+14155550100"),        # "+": the region does not matter
    ("(415) 555-0100", "US", "+14155550100"),
    ("030 1234567", "DE", "+49301234567"),
    ("0049 30 1234567", "DE", "+49301234567"),
    ("+49 (0) 30 1234567", None, "+49301234567"),
    ("020 7946 0000", "GB", "+442079460000"),
    ("06 1234 5678", "IT", "+390612345678"),          # Italy keeps its leading zero
    ("  +44 20 7946 0000  ", None, "+442079460000"),
    ("030 1234567", None, "030 1234567"),             # no region, no "+": kept as written
    ("555-0100 ext. 12", "US", "555-0100 ext. 12"),   # an extension E.164 cannot hold
    ("12", "US", "12"),                               # too short to be a number
    ("n/a", "DE", "n/a"),
    (" call me ", "DE", "call me"),
])
def test_phones_become_e164_where_they_parse(
    value: str, region: str | None, expected: str,
) -> None:
    assert normalize_phone(value, region) == expected


@pytest.mark.parametrize("email", [
    "a@b.co", "ann.lee@example.com", "ann+news@mail.example.co.uk", "o'neil@x.io",
    "x_y-z@sub-domain.example.org", "{weird}|~&!#$%*=?^`@x.de", "123@456.example.com",
    "a@xn--bcher-kva.example", "user@x.xn--p1ai", "ANN@EXAMPLE.COM",
    f"{'a' * 64}@x.com", f"a@{'b' * 63}.com",
])
def test_valid_emails(email: str) -> None:
    assert email_problem(email) is None


@pytest.mark.parametrize(("email", "reason"), [
    ("", "empty"),
    ("ann.example.com", "missing @"),
    ("ann lee@x.com", "space in address"),
    ("ann@x.com ", "space in address"),
    ("ann@@x.com", "more than one @"),
    ("a@b@x.com", "more than one @"),
    ("@x.com", "nothing before @"),
    ("ann@", "no domain"),
    ("ann@localhost", "domain has no dot"),
    ("ann@x..com", "misplaced dot in domain"),
    ("ann@.x.com", "misplaced dot in domain"),
    ("ann@x.com.", "misplaced dot in domain"),
    (".ann@x.com", "misplaced dot before @"),
    ("ann.@x.com", "misplaced dot before @"),
    ("a..nn@x.com", "misplaced dot before @"),
    ("ann(x)@x.com", "character '(' not allowed before @"),
    ('"ann"@x.com', "character '\"' not allowed before @"),
    ("jörg@x.com", "character 'ö' not allowed before @"),
    ("ann@münchen.de", "character 'ü' not allowed in domain"),
    ("ann@x_y.com", "character '_' not allowed in domain"),
    ("ann@-x.com", "domain part starts or ends with '-'"),
    ("ann@x-.com", "domain part starts or ends with '-'"),
    ("ann@x.c", "top-level domain 'c' too short"),
    ("ann@x.c0m", "top-level domain 'c0m' is not letters"),
    ("ann@1.2.3.4", "top-level domain '4' is not letters"),
    (f"{'a' * 65}@x.com", "part before @ longer than 64 characters"),
    (f"a@{'b' * 64}.com", "domain part longer than 63 characters"),
    (f"{'a' * 10}@{'b' * 60}.{'c' * 60}.{'d' * 60}.{'e' * 60}.com",
     "address longer than 254 characters"),
])
def test_invalid_emails_say_why(email: str, reason: str) -> None:
    assert email_problem(email) == reason


def test_email_problems_over_a_column_match_the_scalar_check() -> None:
    emails = ["a@b.co", "", "bad", "x@y", "ann lee@x.com", "ok@ex.org", "a@b.c"]
    assert email_problems(pl.Series(emails)) == {
        1: "empty", 2: "missing @", 3: "domain has no dot", 4: "space in address",
        6: "top-level domain 'c' too short"}


_atext = st.sampled_from("abcxyzABC019!#$%&'*+/=?^_`{|}~-")
_local = st.lists(st.text(_atext, min_size=1, max_size=5), min_size=1, max_size=3).map(".".join)
_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,4}[a-z0-9])?", fullmatch=True)
_domain = st.tuples(st.lists(_label, min_size=1, max_size=3),
                    st.from_regex(r"[a-zA-Z]{2,6}", fullmatch=True))


@given(local=_local, domain=_domain)
def test_addresses_built_from_the_grammar_are_valid(
    local: str, domain: tuple[list[str], str],
) -> None:
    labels, tld = domain
    assert email_problem(f"{local}@{'.'.join(labels)}.{tld}") is None


@given(st.lists(st.text(st.sampled_from("ab.@-_ é\t1"), max_size=12), max_size=20))
def test_vectorised_and_scalar_checks_agree_and_every_failure_has_a_reason(
    emails: list[str],
) -> None:
    problems = email_problems(pl.Series(emails, dtype=pl.String))
    expected = {i: p for i, e in enumerate(emails) if (p := email_problem(e)) is not None}
    assert problems == expected
    assert all(reason.strip() for reason in problems.values())
