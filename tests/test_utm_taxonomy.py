"""A team's UTM taxonomy from TOML: `tools.utm.taxonomy`."""

from __future__ import annotations

from pathlib import Path

import pytest

import tools.utm
from tools.errors import InputError
from tools.utm import Taxonomy, TaxonomyConfig, TaxonomyError, load_taxonomy, parse_taxonomy

# The example from the issue, as a user would write it.
EXAMPLE = """\
[utm]
case = "lower"                  # lower | keep
space = "-"                     # what spaces inside a value become
[utm.source]
allowed = ["facebook", "google", "linkedin", "newsletter"]
aliases = { fb = "facebook", "facebook.com" = "facebook", adwords = "google" }
[utm.medium]
allowed = ["cpc", "email", "social", "paid-social", "organic"]
aliases = { ppc = "cpc", "e-mail" = "email" }
[utm.campaign]
pattern = "^[a-z0-9-]+$"
required = ["source", "medium", "campaign"]   # may also sit per medium
[utm.by_medium.email]
required = ["content"]
[utm.lead_source]
by_source = {linkedin = "LinkedIn"}
by_medium = {cpc = "Paid Search", email = "Email"}
"""


@pytest.fixture
def example(tmp_path: Path) -> Taxonomy:
    path = tmp_path / "utm.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    return load_taxonomy(path)


def test_the_public_api_is_what_it_should_be() -> None:
    assert sorted(tools.utm.__all__) == [
        "Fixed", "NeedsDecision", "Taxonomy", "TaxonomyConfig", "TaxonomyError", "UrlFix",
        "UtmChange", "UtmDecision", "check_required", "encode_component", "fix_url",
        "fix_value", "load_taxonomy", "parse_taxonomy",
    ]
    assert issubclass(TaxonomyError, InputError)


def test_the_example_loads(example: Taxonomy) -> None:
    config = example.config
    assert config.case == "lower" and config.space == "-"
    assert set(config.params) == {"source", "medium", "campaign"}
    assert config.params["source"].aliases["facebook.com"] == "facebook"
    assert config.params["campaign"].pattern == "^[a-z0-9-]+$"
    assert example.rule("utm_source").aliases == {
        "fb": "facebook", "facebook.com": "facebook", "adwords": "google",
    }
    assert example.rule("utm_campaign").pattern is not None


def test_required_is_the_union_of_every_place_it_is_written() -> None:
    taxonomy = parse_taxonomy("""
        [utm]
        required = ["source"]
        [utm.campaign]
        required = ["campaign", "source"]
        [utm.term]
        required = ["medium"]
    """)
    assert taxonomy.required_for(None) == ("utm_source", "utm_campaign", "utm_medium")


def test_required_per_medium_is_matched_after_fixing(example: Taxonomy) -> None:
    assert example.required_for(None) == ("utm_source", "utm_medium", "utm_campaign")
    assert example.required_for("email") == (
        "utm_source", "utm_medium", "utm_campaign", "utm_content",
    )
    assert example.required_for("cpc") == example.required_for(None)
    spelt = parse_taxonomy('[utm.medium]\naliases = { "e-mail" = "email" }\n'
                           '[utm.by_medium."E-Mail"]\nrequired = ["content"]\n')
    assert spelt.required_for("email") == ("utm_content",)


def test_aliases_and_allowed_values_are_normalised_at_load() -> None:
    taxonomy = parse_taxonomy("""
        [utm]
        space = "_"
        [utm.source]
        allowed = ["Facebook", "Paid  Social"]
        aliases = {"Facebook.com" = "FACEBOOK", " FB " = "facebook", "paid social" = "Paid_Social"}
    """)
    rule = taxonomy.rule("utm_source")
    assert list(rule.allowed or ()) == ["facebook", "paid_social"]
    assert rule.aliases == {"facebook.com": "facebook", "fb": "facebook"}   # no self-alias


def test_a_self_alias_after_normalising_is_dropped() -> None:
    taxonomy = parse_taxonomy('[utm.source]\nallowed = ["paid-social"]\n'
                              'aliases = { "Paid Social" = "paid-social" }\n')
    assert taxonomy.rule("utm_source").aliases == {}


def test_case_keep_leaves_case_alone() -> None:
    taxonomy = parse_taxonomy('[utm]\ncase = "keep"\nspace = " "\n')
    assert taxonomy.config.case == "keep"
    assert taxonomy.rule("utm_term").lower is False


@pytest.mark.parametrize(("source", "medium", "lead"), [
    ("linkedin", "cpc", "LinkedIn"),          # by_source wins over by_medium
    ("LinkedIn", None, "LinkedIn"),
    ("fb", "PPC", "Paid Search"),             # both fixed first
    ("google", "e-mail", "Email"),
    (None, "email", "Email"),
    ("", " Email ", "Email"),
    ("facebook", "social", None),             # neither decides
    (None, None, None),
    ("myspace", "cpc", None),                 # a source we cannot read is not overruled
    ("facebook", "carrier-pigeon", None),
])
def test_lead_source(example: Taxonomy, source: str | None, medium: str | None,
                     lead: str | None) -> None:
    assert example.lead_source(source, medium) == lead


def test_the_config_validates_from_python_too() -> None:
    config = TaxonomyConfig.from_table({"case": "keep", "term": {"pattern": "^x$"}})
    assert Taxonomy(config).rule("utm_term").pattern is not None
    assert config.params["term"].pattern == "^x$"
    assert "params" in TaxonomyConfig.from_table({"params": {"allowed": ["a"]}}).params


def test_rule_refuses_a_name_that_is_not_utm(example: Taxonomy) -> None:
    with pytest.raises(ValueError, match="not a utm_ parameter"):
        example.rule("source")


# --- bad input: every error names the file and the key at fault ----------------------------

BAD = [
    ("bad TOML", '[utm]\ncase = lower\n', "line 2"),
    ("unknown top-level key", '[utm]\n[utn.source]\nallowed = []\n', "utn"),
    ("unknown key in [utm]", '[utm]\ncaes = "lower"\n', "utm.caes"),
    ("unknown key in a parameter", '[utm.source]\nallowd = ["x"]\n', "utm.source.allowd"),
    ("unknown key in a medium", '[utm.by_medium.cpc]\nrequire = ["x"]\n',
     "utm.by_medium.cpc.require"),
    ("unknown key in lead_source", '[utm.lead_source]\nby_sorce = {}\n',
     "utm.lead_source.by_sorce"),
    ("bad case", '[utm]\ncase = "upper"\n', "utm.case"),
    ("bad space", '[utm]\nspace = "- "\n', "utm.space"),
    ("space of a tab", '[utm]\nspace = "\\t"\n', "utm.space"),
    ("bad regex", '[utm.campaign]\npattern = "^[a-z"\n', "utm.campaign.pattern"),
    ("wrong type", '[utm.source]\nallowed = "facebook"\n', "utm.source.allowed"),
    ("alias value not a string", '[utm.source]\naliases = { fb = 1 }\n',
     "utm.source.aliases.fb"),
    ("alias to a value not allowed",
     '[utm.source]\nallowed = ["facebook"]\naliases = { fb = "fbook" }\n',
     "utm.source.aliases.fb"),
    ("alias that breaks the pattern", '[utm.campaign]\npattern = "^[a-z]+$"\n'
     'aliases = { x = "a1" }\n', "utm.campaign.aliases.x"),
    ("allowed value that breaks the pattern",
     '[utm.campaign]\npattern = "^[a-z]+$"\nallowed = ["a1"]\n', "utm.campaign.allowed"),
    ("alias to an alias", '[utm.source]\naliases = { a = "b", b = "c" }\n',
     "utm.source.aliases.a"),
    ("alias clash after normalising", '[utm.source]\naliases = { fb = "x", FB = "y" }\n',
     "utm.source.aliases.FB"),
    ("empty alias", '[utm.source]\naliases = { " " = "x" }\n', 'utm.source.aliases." "'),
    ("empty allowed value", '[utm.source]\nallowed = ["x", ""]\n', "utm.source.allowed"),
    ("table with the utm_ prefix", '[utm.utm_source]\nallowed = ["x"]\n', "utm.utm_source"),
    ("upper-case table name", '[utm.Source]\nallowed = ["x"]\n', "utm.Source"),
    ("required with the utm_ prefix", '[utm]\nrequired = ["utm_source"]\n', "utm.required"),
    ("required in a table with the prefix", '[utm.campaign]\nrequired = ["utm_x"]\n',
     "utm.campaign.required"),
    ("medium that is not allowed", '[utm.medium]\nallowed = ["cpc"]\n'
     '[utm.by_medium.email]\nrequired = ["content"]\n', "utm.by_medium.email"),
    ("medium listed twice", '[utm.by_medium.Email]\nrequired = []\n'
     '[utm.by_medium.email]\nrequired = []\n', "utm.by_medium.email"),
    ("lead source for a source not allowed", '[utm.source]\nallowed = ["google"]\n'
     '[utm.lead_source]\nby_source = { linkedin = "LinkedIn" }\n',
     "utm.lead_source.by_source.linkedin"),
    ("empty lead source", '[utm.lead_source]\nby_medium = { cpc = " " }\n',
     "utm.lead_source.by_medium.cpc"),
    ("no [utm] table", 'utm = 1\n', "utm"),
    ("params as a value", '[utm]\nparams = 1\n', "utm.params"),
]


@pytest.mark.parametrize(("case", "text", "key"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_input_names_the_file_and_the_key(
    tmp_path: Path, case: str, text: str, key: str,
) -> None:
    path = tmp_path / "team-utm.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TaxonomyError) as raised:
        load_taxonomy(path)
    message = str(raised.value)
    assert isinstance(raised.value, InputError)
    assert raised.value.file == str(path)
    assert message.startswith(str(path)), message
    assert key in message, message
    if key.startswith("utm"):
        assert raised.value.field == key


def test_a_bad_regex_says_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "utm.toml"
    path.write_text('[utm.campaign]\npattern = "(unclosed"\n', encoding="utf-8")
    with pytest.raises(TaxonomyError, match="not a valid regular expression"):
        load_taxonomy(path)


def test_several_problems_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "utm.toml"
    path.write_text('[utm]\ncase = "upper"\nspase = "-"\n', encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"and 1 more problem\)"):
        load_taxonomy(path)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(TaxonomyError, match="nope.toml: cannot read"):
        load_taxonomy(missing)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[utm]")
    with pytest.raises(TaxonomyError, match="binary.toml: not UTF-8"):
        load_taxonomy(binary)


def test_parse_taxonomy_names_its_source() -> None:
    with pytest.raises(TaxonomyError, match=r"^job 7 params, field 'utm.case': "):
        parse_taxonomy('[utm]\ncase = "UPPER"\n', file="job 7 params")
