"""Pure normalisers for lead values: e-mail syntax, countries to ISO 3166 alpha-2, phones to E.164.

The per-value work that is slow (a phone parse costs ~13 µs) is memoised in bounded caches,
so a file pays for each distinct value once; callers handling columns should also call these
once per distinct value of a chunk (see `tools.leads`).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
import polars as pl
import pycountry

# --- e-mail -----------------------------------------------------------------------------
# A pragmatic RFC 5322 subset, ASCII only: a local part of atext runs joined by single
# dots; a domain of letter/digit/hyphen labels; a top-level domain of two or more letters
# (or an IDN "xn--" label). Written in the syntax both Python's `re` and polars (Rust) take.
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TLD = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
EMAIL_PATTERN = rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@(?:{_LABEL}\.)+{_TLD}"
_EMAIL = re.compile(EMAIL_PATTERN)
_LOCAL_CHARS = frozenset(_ATEXT.replace("A-Z", "").replace("a-z", "").replace("0-9", "") + ".")
MAX_LOCAL, MAX_EMAIL = 64, 254


def email_problem(email: str) -> str | None:
    """None if `email` is a syntactically acceptable address, else a short reason why not.

    A syntax check only (no DNS): "missing @", "no domain", "space in address",
    "domain has no dot", ...
    """
    if _EMAIL.fullmatch(email) and len(email) <= MAX_EMAIL and email.find("@") <= MAX_LOCAL:
        return None
    return _address_problem(email) or "not a valid address"


def email_problems(emails: pl.Series) -> dict[int, str]:
    """`email_problem` over a whole column: position → reason, for the invalid values only.

    The regex runs vectorised in polars; only the values it refuses are diagnosed one by one.
    """
    valid = (
        emails.str.contains(f"^(?:{EMAIL_PATTERN})$")
        & (emails.str.len_chars() <= MAX_EMAIL)
        & (emails.str.find("@", literal=True) <= MAX_LOCAL)
    ).fill_null(False)
    return {
        index: _address_problem(emails[index]) or "not a valid address"
        for index in valid.not_().arg_true().to_list()
    }


def _address_problem(email: str) -> str | None:
    if not email:
        return "empty"
    if any(ch.isspace() for ch in email):
        return "space in address"
    if "@" not in email:
        return "missing @"
    if email.count("@") > 1:
        return "more than one @"
    local, _, domain = email.partition("@")
    if not local:
        return "nothing before @"
    if not domain:
        return "no domain"
    bad = next((ch for ch in local if not _local_char(ch)), None)
    if bad is not None:
        return f"character {bad!r} not allowed before @"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "misplaced dot before @"
    if len(local) > MAX_LOCAL:
        return f"part before @ longer than {MAX_LOCAL} characters"
    if len(email) > MAX_EMAIL:
        return f"address longer than {MAX_EMAIL} characters"
    return _domain_problem(domain)


def _local_char(ch: str) -> bool:
    return ch in _LOCAL_CHARS or (ch.isascii() and ch.isalnum())


def _domain_problem(domain: str) -> str | None:
    if "." not in domain:
        return "domain has no dot"
    labels = domain.split(".")
    if "" in labels:
        return "misplaced dot in domain"
    bad = next((ch for ch in domain if not (ch.isascii() and (ch.isalnum() or ch in "-."))), None)
    if bad is not None:
        return f"character {bad!r} not allowed in domain"
    if any(label.startswith("-") or label.endswith("-") for label in labels):
        return "domain part starts or ends with '-'"
    if any(len(label) > 63 for label in labels):
        return "domain part longer than 63 characters"
    tld = labels[-1]
    if tld.startswith("xn--"):
        return None
    if not tld.isalpha():
        return f"top-level domain {tld!r} is not letters"
    return f"top-level domain {tld!r} too short" if len(tld) < 2 else None


# --- countries ----------------------------------------------------------------------------
# Names people write that ISO's English names do not cover (folded as `_fold` folds).
_COUNTRY_ALIASES: dict[str, str] = {
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB",
    "usa": "US", "america": "US", "united states of america": "US",
    "south korea": "KR", "korea south": "KR", "north korea": "KP", "dprk": "KP",
    "russia": "RU", "czech republic": "CZ", "czechia": "CZ", "holland": "NL",
    "ivory coast": "CI", "macedonia": "MK", "swaziland": "SZ", "burma": "MM",
    "uae": "AE", "emirates": "AE", "vatican": "VA", "vatican city": "VA", "palestine": "PS",
    "macau": "MO", "brunei": "BN", "cape verde": "CV", "turkey": "TR",
    "drc": "CD", "dr congo": "CD", "congo kinshasa": "CD", "congo brazzaville": "CG",
    "republic of the congo": "CG", "micronesia": "FM", "east timor": "TL",
    "prc": "CN", "mainland china": "CN",
    # Names in the country's own language, common in European exports.
    "deutschland": "DE", "osterreich": "AT", "oesterreich": "AT", "schweiz": "CH",
    "suisse": "CH", "svizzera": "CH", "espana": "ES", "italia": "IT", "nederland": "NL",
    "belgique": "BE", "belgie": "BE", "sverige": "SE", "norge": "NO", "danmark": "DK",
    "suomi": "FI", "polska": "PL", "cesko": "CZ", "magyarorszag": "HU", "eire": "IE",
    "brasil": "BR", "hellas": "GR",
}
_PUNCT = re.compile(r"[^\w]+|_")


def _fold(text: str) -> str:
    """Fold a country name for lookup: case, accents, dots, "&", "St.", a leading "the".

    "Côte d'Ivoire" → "cote d ivoire"; "U.S.A." → "usa"; "St. Lucia" → "saint lucia".
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = _PUNCT.sub(" ", plain.replace(".", "").replace("&", " and ")).split()
    if words[:1] == ["the"] and len(words) > 1:
        words = words[1:]
    if words[:1] == ["st"]:
        words[0] = "saint"
    return " ".join(words)


@functools.cache
def _country_table() -> dict[str, str]:
    """Folded code or name → alpha-2, built once from pycountry and the aliases."""
    table: dict[str, str] = {}
    bases: dict[str, list[str]] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        for attr in ("alpha_2", "alpha_3", "numeric", "name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                table.setdefault(_fold(value), code)
        base, comma, rest = country.name.partition(", ")
        if comma:  # "Korea, Republic of" is also written "Republic of Korea", "Korea"
            table.setdefault(_fold(f"{rest} {base}"), code)
            bases.setdefault(_fold(base), []).append(code)
    for base, codes in bases.items():
        if len(codes) == 1:  # "Korea" and "Virgin Islands" each name two countries
            table.setdefault(base, codes[0])
    table.update((_fold(alias), code) for alias, code in _COUNTRY_ALIASES.items())
    return table


@functools.lru_cache(maxsize=10_000)
def normalize_country(value: str) -> str | None:
    """The ISO 3166 alpha-2 code for a country code (alpha-2, alpha-3, numeric) or name.

    "Germany", "germany", "DE", "DEU", "Deutschland" → "DE"; "UK", "USA", "South Korea"
    work too. None when the value names no country (it is not guessed).
    """
    return _country_table().get(_fold(value))


# --- phones -------------------------------------------------------------------------------
_E164 = phonenumbers.PhoneNumberFormat.E164
_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE


@functools.lru_cache(maxsize=200_000)
def normalize_phone(value: str, region: str | None) -> str:
    """`value` in E.164 ("+4930123456") when it parses as a complete number, else trimmed.

    `region` (alpha-2) is the country assumed for numbers written without "+country code".
    A number with an extension is kept as written: E.164 has no place for the extension.
    """
    text = value.strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    if number.extension or phonenumbers.is_possible_number_with_reason(number) != _POSSIBLE:
        return text
    return phonenumbers.format_number(number, _E164)
