"""Fixing the utm_* pairs of a URL and nothing else: `tools.utm.url`."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_utm_taxonomy import EXAMPLE
from tools.utm import (
    Fixed,
    UtmChange,
    UtmDecision,
    encode_component,
    fix_url,
    fix_value,
    parse_taxonomy,
)

TAXONOMY = parse_taxonomy(EXAMPLE)
LOOSE = parse_taxonomy('[utm]\ncase = "keep"\nspace = " "\n')      # no table, nothing required
CORPUS = Path(__file__).resolve().parents[2] / "shared/corpora/urltestdata.json"
TAGGED = "utm_source=FB&utm_medium=PPC"
MISSING_CAMPAIGN = UtmDecision("utm_campaign", None, "required parameter missing")


def test_the_example_link_is_fixed() -> None:
    fixed = fix_url("https://x.com/a?UTM_Source=FB&utm_medium=PPC&x=1&utm_campaign=Spring%20Sale"
                    "#top?utm_source=FB", TAXONOMY)
    assert fixed.url == ("https://x.com/a?utm_source=facebook&utm_medium=cpc&x=1"
                         "&utm_campaign=spring-sale#top?utm_source=FB")
    assert fixed.changes == [
        UtmChange("utm_source", "UTM_Source=FB", "utm_source=facebook"),
        UtmChange("utm_medium", "utm_medium=PPC", "utm_medium=cpc"),
        UtmChange("utm_campaign", "utm_campaign=Spring%20Sale", "utm_campaign=spring-sale"),
    ]
    assert fixed.decisions == []


@pytest.mark.parametrize(("url", "expected"), [
    # keys: matched case-insensitively after decoding, written back plain and lower case
    ("/?utm%5Fsource=facebook&utm_medium=cpc&utm_campaign=a",
     "/?utm_source=facebook&utm_medium=cpc&utm_campaign=a"),
    ("/?%75tm_SOURCE=fb&utm_medium=cpc&utm_campaign=a",
     "/?utm_source=facebook&utm_medium=cpc&utm_campaign=a"),
    # an unchanged value keeps its bytes, however it was encoded
    ("/?utm_source=%66acebook&utm_medium=c%70c&utm_campaign=spring%2Dsale", None),
    # a changed value is re-encoded minimally: + and %20 are spaces
    ("/?utm_source=fb&utm_medium=cpc&utm_campaign=Spring+Sale&utm_term=Caf%C3%A9+Au%20Lait",
     "/?utm_source=facebook&utm_medium=cpc&utm_campaign=spring-sale&utm_term=caf%C3%A9-au-lait"),
    # everything else stays: odd separators, empty pairs, repeated keys, ";" is not a separator
    ("http://u:p@h:8/p;q/?&&a&a=&a=%zz;utm_source=FB&utm_source=fb&=x&utm_medium=PPC"
     "&utm_campaign=a&#frag#more",
     "http://u:p@h:8/p;q/?&&a&a=&a=%zz;utm_source=FB&utm_source=facebook&=x&utm_medium=cpc"
     "&utm_campaign=a&#frag#more"),
    # utm-looking text that is not a utm key
    ("/?utm=FB&utm-source=FB&xutm_source=FB&utm_=FB", None),
    # no query, or a query only in the fragment
    ("https://example.com/path#?utm_source=FB", None),
    ("utm_source=FB", None),
])
def test_only_utm_pairs_change(url: str, expected: str | None) -> None:
    fixed = fix_url(url, TAXONOMY)
    assert fixed.url == (expected or url)
    assert bool(fixed.changes) == (expected is not None)


def test_a_value_needing_a_decision_is_left_alone_and_the_others_are_fixed() -> None:
    url = "https://x.com/?utm_source=MySpace&utm_medium=PPC&utm_campaign=a"
    fixed = fix_url(url, TAXONOMY)
    assert fixed.url == "https://x.com/?utm_source=MySpace&utm_medium=cpc&utm_campaign=a"
    assert fixed.changes == [("utm_medium", "utm_medium=PPC", "utm_medium=cpc")]
    assert fix_url(fixed.url, TAXONOMY).changes == []
    [decision] = fixed.decisions
    assert decision.param == "utm_source" and decision.value == "MySpace"
    assert "not an allowed utm_source" in decision.reason


@pytest.mark.parametrize(("query", "decision"), [
    ("utm_source=&utm_medium=cpc&utm_campaign=a", UtmDecision("utm_source", "", "empty")),
    ("utm_source&utm_medium=cpc&utm_campaign=a", UtmDecision("utm_source", "", "empty")),
    ("utm_source=%FF&utm_medium=cpc&utm_campaign=a",
     UtmDecision("utm_source", "%FF", "value is not valid UTF-8")),
    ("utm_source=facebook&utm_medium=cpc&utm_campaign=a&utm_%FF=x",
     UtmDecision("utm_\ufffd", "x", "parameter name is not valid UTF-8")),
    ("utm_source=fb&utm_medium=cpc&utm_campaign=a&UTM_SOURCE=google",   # left as they are
     UtmDecision("utm_source", None,
                 "appears 2 times with different values: 'facebook', 'google'")),
])
def test_what_needs_a_decision(query: str, decision: UtmDecision) -> None:
    url = f"https://x.com/?{query}"
    fixed = fix_url(url, TAXONOMY)
    assert fixed.url == url and fixed.changes == []
    assert fixed.decisions == [decision]


def test_duplicates_that_fix_to_the_same_value_are_both_fixed() -> None:
    fixed = fix_url("/?utm_source=fb&utm_medium=cpc&utm_campaign=a&UTM_SOURCE=Facebook", TAXONOMY)
    assert fixed.url == "/?utm_source=facebook&utm_medium=cpc&utm_campaign=a&utm_source=facebook"
    assert fixed.decisions == []


def test_missing_required_parameters_are_reported_and_the_rest_is_fixed() -> None:
    fixed = fix_url("/?utm_source=fb&utm_medium=E-Mail", TAXONOMY)
    assert fixed.url == "/?utm_source=facebook&utm_medium=email"
    assert fixed.decisions == [
        MISSING_CAMPAIGN, UtmDecision("utm_content", None, "required parameter missing"),
    ]


def test_an_empty_required_value_is_reported_once() -> None:
    fixed = fix_url("/?utm_source=fb&utm_medium=cpc&utm_campaign=", TAXONOMY)
    assert fixed.decisions == [UtmDecision("utm_campaign", "", "empty")]


def test_untagged_links_are_not_our_business() -> None:
    for url in ("https://x.com/", "https://x.com/?a=1&b=2#utm_source=x", "", "not a link"):
        assert fix_url(url, TAXONOMY) == fix_url(url, LOOSE)
        fixed = fix_url(url, TAXONOMY)
        assert (fixed.url, fixed.changes, fixed.decisions) == (url, [], [])


@pytest.mark.parametrize(("url", "reason"), [
    (" https://x.com/?utm_source=FB", "not a URL: leading or trailing whitespace"),
    ("https://x.com/?utm_source=FB\n", "not a URL: contains control characters"),
    ("https://x.com/?utm_source=Spring Sale", "not a URL: whitespace in the query"),
    ("see https://x.com/?utm_source=FB and more", "not a URL: whitespace in the query"),
])
def test_text_that_is_not_a_url_is_left_alone(url: str, reason: str) -> None:
    fixed = fix_url(url, TAXONOMY)
    assert fixed.url == url and fixed.changes == []
    assert fixed.decisions == [UtmDecision("utm_source", None, reason)]


def test_encode_component_encodes_only_what_it_must() -> None:
    assert encode_component("a&b#c=d+e%f g\x01\x7fé€/?:@;,'") == (
        "a%26b%23c%3Dd%2Be%25f%20g%01%7F%C3%A9%E2%82%AC/?:@;,'"
    )


def test_a_value_with_reserved_characters_round_trips() -> None:
    url = "/?utm_content=" + quote("Tom & Jerry = 100% #1 + más", safe="")
    fixed = fix_url(url, LOOSE)
    assert fixed.url == "/?utm_content=Tom%20%26%20Jerry%20%3D%20100%25%20%231%20%2B%20m%C3%A1s"
    assert fix_url(fixed.url, LOOSE).changes == []


# --- properties ----------------------------------------------------------------------------

def _utm_key(key: str) -> bool:
    name = unquote_plus(key, errors="replace")
    return len(name) > 4 and name[:4].isascii() and name[:4].lower() == "utm_"


def _without_utm(url: str) -> str:
    """`url` with its utm pairs taken out, everything else as it was."""
    head, hash_, fragment = url.partition("#")
    path, question, query = head.partition("?")
    kept = [pair for pair in query.split("&") if not _utm_key(pair.partition("=")[0])]
    return path + question + "&".join(kept) + hash_ + fragment


def _query_values(url: str) -> dict[str, list[str]]:
    query = url.partition("#")[0].partition("?")[2]
    values: dict[str, list[str]] = {}
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if _utm_key(key):
            values.setdefault(unquote_plus(key).lower(), []).append(unquote_plus(value))
    return values


# Bits of query text: odd encodings, empty values, keys without "=", ";", non-ASCII.
PIECES = st.sampled_from([
    "a", "B", "0", "%", "%2F", "%zz", "%C3%BC", "%FF", "%5F", "+", ";", "=", "==", ".", "-",
    "_", "~", "/", "?", ":", "@", "!", "$", "'", "(", ")", "*", ",", "ü", "€", "utm", "UTM_",
    "%75tm", "id", "ref",
])
OTHER_PAIRS = st.lists(PIECES, max_size=6).map("".join).filter(
    lambda pair: not _utm_key(pair.partition("=")[0]))
UTM_KEYS = st.sampled_from([
    "utm_source", "UTM_Source", "utm%5Fsource", "utm_medium", "Utm_Medium", "utm_campaign",
    "utm_term", "utm_content", "utm%5FCONTENT", "%75tm_id",
])
KNOWN_TEXT = st.sampled_from([
    "fb", "FB", "Facebook.com", "facebook", "google", "PPC", "cpc", "e-mail", "Spring Sale",
    "spring-sale", "50% off", "a&b=c#d+e", "İstanbul", "",
])
UTM_TEXT = st.one_of(KNOWN_TEXT, KNOWN_TEXT, KNOWN_TEXT, st.text(max_size=8))   # mostly fixable
ENCODERS = st.sampled_from([
    lambda value: quote(value, safe=""),
    lambda value: quote_plus(value),
    lambda value: quote(value, safe="!$'()*,/:;@?"),
])


@st.composite
def utm_pairs(draw: st.DrawFn) -> str:
    key = draw(UTM_KEYS)
    if draw(st.integers(0, 15)) == 0:
        return key                                  # a utm key without "="
    return f"{key}={draw(ENCODERS)(draw(UTM_TEXT))}"


@st.composite
def urls(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from([
        "https://example.com/path", "http://u:p@h:8/a;b/c", "//host/p", "/rel", "", "x",
        "mailto:x@y.z", "https://bücher.de/ü", "example.com", "sc:opaque path",
    ]))
    pairs = draw(st.lists(st.one_of(OTHER_PAIRS, utm_pairs()), max_size=8))
    fragment = draw(st.sampled_from(["", "#", "#top", "#a?utm_source=FB&b", "#x#y"]))
    return base + "?" + "&".join(pairs) + fragment


@settings(deadline=None, max_examples=300)
@given(url=urls())
def test_only_utm_pairs_change_and_a_second_fix_changes_nothing(url: str) -> None:
    for taxonomy in (TAXONOMY, LOOSE):
        fixed = fix_url(url, taxonomy)
        assert _without_utm(fixed.url) == _without_utm(url)
        again = fix_url(fixed.url, taxonomy)
        assert again.url == fixed.url and again.changes == []
        assert bool(fixed.changes) == (fixed.url != url)
        decided = {d.param for d in fixed.decisions
                   if d.value is not None or "times" in d.reason}
        assert _pairs_of(fixed.url, decided) == _pairs_of(url, decided)  # left as they were
        if not fixed.changes:
            continue
        for param, values in _query_values(fixed.url).items():
            if param in decided:
                continue                            # left for a person to decide
            for value in values:
                assert fix_value(taxonomy, param, value) == Fixed(value)


@settings(deadline=None)
@given(pairs=st.lists(OTHER_PAIRS, max_size=8))
def test_links_without_utm_pairs_come_back_as_they_were(pairs: list[str]) -> None:
    url = "https://example.com/?" + "&".join(pairs) + "#utm_source=FB"
    assert fix_url(url, TAXONOMY) == fix_url(url, LOOSE)
    assert fix_url(url, TAXONOMY).url == url
    assert fix_url(url, TAXONOMY).decisions == []


# --- the WHATWG URL conformance corpus -------------------------------------------------------

@pytest.fixture(scope="module")
def hrefs() -> list[str]:
    if not CORPUS.exists():
        pytest.fail(f"{CORPUS} is missing: the shared corpora live next to the repo "
                    "(see shared/corpora/README.md)")
    entries = json.loads(CORPUS.read_text(encoding="utf-8"))
    found = [entry["href"] for entry in entries if isinstance(entry, dict) and "href" in entry]
    assert len(found) > 500
    return found


def _tag(href: str, pairs: str) -> str:
    """`href` with `pairs` appended to its query (or as its query), before the fragment."""
    head, hash_, fragment = href.partition("#")
    if "?" not in head:
        head += "?"
    elif not head.endswith("?"):
        head += "&"
    return head + pairs + hash_ + fragment


def test_corpus_urls_without_utm_come_back_byte_for_byte(hrefs: list[str]) -> None:
    changed = [href for href in hrefs
               if (fix := fix_url(href, TAXONOMY)).url != href or fix.changes or fix.decisions]
    assert changed == []


def test_corpus_urls_have_only_their_utm_values_fixed(hrefs: list[str]) -> None:
    wrong = []
    for href in hrefs:
        fixed = fix_url(_tag(href, TAGGED), TAXONOMY)
        if (fixed.url != _tag(href, "utm_source=facebook&utm_medium=cpc")
                or fixed.decisions != [MISSING_CAMPAIGN] or len(fixed.changes) != 2):
            wrong.append((href, fixed))
    assert wrong == []


def _pairs_of(url: str, params: set[str]) -> list[str]:
    """The raw query pairs of `url` whose decoded, lower-cased key is one of `params`."""
    query = url.split("#", 1)[0].partition("?")[2]
    return [pair for pair in query.split("&")
            if unquote(pair.partition("=")[0].replace("+", " "), errors="replace").lower()
            in params]
