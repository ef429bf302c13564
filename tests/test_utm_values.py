"""Fixing one UTM value, and the required parameters: `tools.utm.values`."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_utm_taxonomy import EXAMPLE
from tools.utm import Fixed, NeedsDecision, Taxonomy, check_required, fix_value, parse_taxonomy

TAXONOMY = parse_taxonomy(EXAMPLE)
KEEP = parse_taxonomy("""
    [utm]
    case = "keep"
    space = " "
    [utm.source]
    aliases = { FB = "Facebook" }
""")


@pytest.mark.parametrize(("param", "value", "fixed"), [
    ("utm_source", "facebook", "facebook"),
    ("utm_source", "Facebook", "facebook"),                 # case
    ("utm_source", "  FACEBOOK\t", "facebook"),             # strip
    ("utm_source", "fb", "facebook"),                       # alias
    ("utm_source", "FB", "facebook"),                       # alias after case
    ("utm_source", "Facebook.com", "facebook"),             # alias key with a dot
    ("utm_source", "AdWords", "google"),
    ("utm_medium", "PPC", "cpc"),
    ("utm_medium", "E-Mail", "email"),
    ("utm_medium", "Paid Social", "paid-social"),           # space rule, then allowed
    ("utm_medium", "paid \t  social", "paid-social"),       # a whitespace run is one space
    ("utm_campaign", "Spring Sale 2024", "spring-sale-2024"),
    ("utm_campaign", "spring-sale", "spring-sale"),
    ("utm_term", "Running  Shoes", "running-shoes"),        # no table: case and space only
    ("utm_content", "Banner_A!", "banner_a!"),
    ("utm_x_custom", " Élan Vital ", "élan-vital"),
])
def test_values_that_fix(param: str, value: str, fixed: str) -> None:
    assert fix_value(TAXONOMY, param, value) == Fixed(fixed)


@pytest.mark.parametrize(("param", "value", "reason"), [
    ("utm_source", "", "empty"),
    ("utm_source", "   ", "empty"),
    ("utm_term", "\t", "empty"),
    ("utm_source", "myspace",
     "'myspace' is not an allowed utm_source; allowed: facebook, google, linkedin, newsletter"),
    ("utm_source", "MySpace", "'MySpace' (fixed to 'myspace') is not an allowed utm_source"),
    ("utm_source", "face book", "'face book' (fixed to 'face-book') is not an allowed"),
    ("utm_medium", "cpm", "'cpm' is not an allowed utm_medium"),
    ("utm_campaign", "spring_sale", "does not match the utm_campaign pattern '^[a-z0-9-]+$'"),
    ("utm_campaign", "Sale 50%", "'Sale 50%' (fixed to 'sale-50%') does not match"),
])
def test_values_that_need_a_decision(param: str, value: str, reason: str) -> None:
    outcome = fix_value(TAXONOMY, param, value)
    assert isinstance(outcome, NeedsDecision)
    assert outcome.value == value
    assert reason in outcome.reason


def test_a_long_allowed_list_is_shortened_in_the_reason() -> None:
    values = ", ".join(f'"v{n}"' for n in range(20))
    taxonomy = parse_taxonomy(f"[utm.source]\nallowed = [{values}]\n")
    outcome = fix_value(taxonomy, "utm_source", "nope")
    assert isinstance(outcome, NeedsDecision)
    assert outcome.reason.endswith("v10, v11 and 8 more")


@pytest.mark.parametrize(("value", "fixed"), [
    ("FB", "Facebook"), ("  Some   Thing ", "Some Thing"), ("facebook", "facebook"),
])
def test_case_keep_and_a_space_of_space(value: str, fixed: str) -> None:
    assert fix_value(KEEP, "utm_source", value) == Fixed(fixed)


def test_the_parameter_name_is_matched_in_any_case() -> None:
    assert fix_value(TAXONOMY, "UTM_Source", "myspace") == fix_value(
        TAXONOMY, "utm_source", "myspace")


def test_a_parameter_that_is_not_utm_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="not a utm_ parameter"):
        fix_value(TAXONOMY, "source", "fb")


# --- idempotence: fixing a fixed value gives it back ----------------------------------------

PARAMS = st.sampled_from(["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_id"])
KNOWN = st.sampled_from([
    "fb", "FB", "Facebook.com", " facebook ", "adwords", "PPC", "e-mail", "Paid Social",
    "spring sale", "Spring-Sale-2024", "İstanbul", "ǅemal", "straße", "ΣΊΣΥΦΟΣ",
])
VALUES = st.one_of(KNOWN, st.text(), st.text(alphabet=" \t\n\u00a0\u2003AaBb-_.İıſK"))


@pytest.mark.parametrize("taxonomy", [TAXONOMY, KEEP, parse_taxonomy('[utm]\nspace = ""\n'),
                                      parse_taxonomy('[utm]\nspace = "_X"\n')],
                         ids=["example", "keep", "no-space", "upper-space"])
@settings(deadline=None)
@given(param=PARAMS, value=VALUES)
def test_fixing_is_idempotent(taxonomy: Taxonomy, param: str, value: str) -> None:
    outcome = fix_value(taxonomy, param, value)
    if isinstance(outcome, Fixed):
        assert fix_value(taxonomy, param, outcome.value) == outcome
        assert outcome.value == outcome.value.strip() and outcome.value
    else:
        assert outcome.value == value and outcome.reason


@settings(deadline=None)
@given(value=VALUES)
def test_fixed_values_are_allowed_values(value: str) -> None:
    outcome = fix_value(TAXONOMY, "utm_source", value)
    if isinstance(outcome, Fixed):
        assert outcome.value in {"facebook", "google", "linkedin", "newsletter"}


# --- required parameters ----------------------------------------------------------------------

@pytest.mark.parametrize(("present", "missing"), [
    ({"utm_source": "fb", "utm_medium": "cpc", "utm_campaign": "x"}, []),
    ({"utm_source": "fb", "utm_medium": "cpc"}, ["utm_campaign"]),
    ({}, ["utm_source", "utm_medium", "utm_campaign"]),
    ({"utm_source": "fb", "utm_medium": "cpc", "utm_campaign": "  "}, ["utm_campaign"]),
    ({"utm_source": "fb", "utm_medium": "email", "utm_campaign": "x"}, ["utm_content"]),
    ({"utm_source": "fb", "utm_medium": "E-Mail", "utm_campaign": "x"}, ["utm_content"]),
    ({"utm_source": "fb", "utm_medium": "E-Mail", "utm_campaign": "x", "utm_content": "a"}, []),
    ({"utm_medium": "pigeon"}, ["utm_source", "utm_campaign"]),    # unknown medium: no extras
])
def test_check_required(present: dict[str, str], missing: list[str]) -> None:
    assert check_required(TAXONOMY, present) == missing


def test_nothing_is_required_unless_the_taxonomy_says_so() -> None:
    assert check_required(KEEP, {}) == []
