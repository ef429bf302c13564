"""Derivations for `mops backfill FIELD --derive NAME`: a field's value worked out from others.

A derivation reads a contact record (field name → value; None or "" is empty) and returns
the value for its field, or None when it cannot decide — a backfill then leaves the record
alone. Derivations never guess: an undecidable case is None, not a likely answer.

The built-in ones are pure and offline; the per-value work (a phone parse, a public-suffix
lookup) is memoised per distinct value, since a backfill runs them over millions of records.
More derivations (`lead_source_from_utm`) come in through `derivations(extra=…)`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files

import phonenumbers
import pycountry
import tldextract

from tools.errors import InputError

__all__ = [
    "AMBIGUOUS_CCTLDS",
    "DERIVATIONS",
    "TLD_COUNTRY",
    "Derivation",
    "company_from_email_domain",
    "country_from_email_tld",
    "country_from_phone",
    "derivations",
    "freemail_domains",
    "get_derivation",
]

Record = Mapping[str, str | None]


@dataclass(frozen=True)
class Derivation:
    """How to fill `field` from the fields in `reads`; `derive` returns None if undecidable."""

    name: str
    field: str
    reads: tuple[str, ...]
    derive: Callable[[Record], str | None]


def _text(record: Record, name: str) -> str:
    value = record.get(name)
    return value.strip() if value else ""


def _alpha_2(code: str | None) -> str | None:
    """`code` if it is an ISO 3166-1 alpha-2 country code (pycountry's list), else None."""
    if code and len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None:
        return code
    return None


# --- country from phone -----------------------------------------------------------------

def country_from_phone(record: Record) -> str | None:
    """The country of an international number ("+…" or "00…"); a national one is undecidable.

    A country code of one region (+49) gives that region. A code shared by several (+1 for
    the NANP, +44 for GB, GG, IM, JE, +7 for RU and KZ) gives the region of the number only
    when the number is valid. Non-geographic codes (+800) and regions without an ISO code
    (XK, AC, TA) give None.
    """
    return _phone_country(_text(record, "phone"))


@functools.lru_cache(maxsize=200_000)
def _phone_country(phone: str) -> str | None:
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    if not phone.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return _alpha_2(phonenumbers.region_code_for_number(number))
    regions = phonenumbers.region_codes_for_country_code(number.country_code or 0)
    if len(regions) == 1 and phonenumbers.is_possible_number(number):
        return _alpha_2(regions[0])
    return None


# --- e-mail domains ---------------------------------------------------------------------

def _email_domain(record: Record) -> str | None:
    """The lower-cased domain of the record's e-mail, or None if it has none worth reading."""
    local, at, domain = _text(record, "email").lower().rpartition("@")
    domain = domain.rstrip(".")
    if not (local and at and "." in domain) or any(c.isspace() for c in domain):
        return None
    return domain


# ccTLDs that do not say where a company is: sold worldwide as generic or "tech" names
# (.io, .ai, .co, .me, .tv…), used for a word they spell (.ag for German AGs, .fm and .am
# for radio, .md for medicine, .la for Los Angeles) or handed out free (.tk, .ml, .ga, .cf,
# .gq). Generic TLDs (.com, .org, .net, .info, .xyz…) and .eu are not countries at all:
# they fail the ISO check.
AMBIGUOUS_CCTLDS = frozenset({
    "ac", "ag", "ai", "am", "bz", "cc", "cf", "co", "cx", "dj", "fm", "ga", "gd", "gg", "gq",
    "gs", "im", "io", "la", "ly", "md", "me", "ml", "ms", "nu", "sh", "so", "st", "tk", "tm",
    "to", "tv", "vc", "vg", "ws",
})
# ccTLDs that differ from the ISO 3166-1 alpha-2 code of their country.
TLD_COUNTRY = {"uk": "GB"}


def country_from_email_tld(record: Record) -> str | None:
    """The country of the e-mail's ccTLD (`.de` → DE, `.co.uk` → GB), None if not a country's.

    None for generic TLDs, `.eu`, and the ccTLDs in AMBIGUOUS_CCTLDS.
    """
    domain = _email_domain(record)
    return _tld_country(domain.rpartition(".")[2]) if domain else None


@functools.lru_cache(maxsize=4_096)
def _tld_country(tld: str) -> str | None:
    if tld in AMBIGUOUS_CCTLDS:
        return None
    return _alpha_2(TLD_COUNTRY.get(tld, tld.upper()))


def company_from_email_domain(record: Record) -> str | None:
    """A company name from the e-mail's registrable domain, never from a free-mail one.

    `jane@mail.acme-corp.co.uk` → "Acme Corp": the label under the public suffix, with `-`
    and `_` as spaces, each word capitalised (so `ibm.com` gives "Ibm": a name to review, not
    the brand's spelling). None for free-mail and ISP domains (`tools/data/freemail.txt`),
    for a domain with no public suffix, and for an IP address.
    """
    domain = _email_domain(record)
    return _domain_company(domain) if domain else None


@functools.lru_cache(maxsize=100_000)
def _domain_company(domain: str) -> str | None:
    parts = _extractor()(domain)
    if not parts.domain or not parts.suffix or _is_freemail(domain, parts.domain, parts.suffix):
        return None
    label = parts.domain
    if label.startswith("xn--"):
        try:
            label = label.encode("ascii").decode("idna")
        except UnicodeError:
            return None
    words = label.replace("-", " ").replace("_", " ").split()
    return " ".join(word[:1].upper() + word[1:] for word in words) or None


def _is_freemail(domain: str, label: str, suffix: str) -> bool:
    names = freemail_domains()
    return domain in names or f"{label}.{suffix}" in names or f"{label}.*" in names


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    """The public-suffix splitter, on the list bundled with tldextract: never fetched.

    `suffix_list_urls=()` turns off the download, `cache_dir=None` the disk cache, so the
    bundled snapshot is the only source.
    """
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


@functools.cache
def freemail_domains() -> frozenset[str]:
    """The free-mail and ISP domains: one a line, `#` comments, `name.*` for any suffix."""
    text = files("tools").joinpath("data/freemail.txt").read_text(encoding="utf-8")
    lines = (line.partition("#")[0].strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line)


# --- the registry -----------------------------------------------------------------------

_BUILT_IN = (
    Derivation("country_from_phone", "country", ("phone",), country_from_phone),
    Derivation("country_from_email_tld", "country", ("email",), country_from_email_tld),
    Derivation("company_from_email_domain", "company", ("email",), company_from_email_domain),
)


def derivations(extra: Iterable[Derivation] = ()) -> dict[str, Derivation]:
    """The built-in derivations and `extra` (e.g. `lead_source_from_utm`), by name.

    A name given twice is a programming error (ValueError), not the user's.
    """
    table: dict[str, Derivation] = {}
    for derivation in (*_BUILT_IN, *extra):
        if derivation.name in table:
            raise ValueError(f"derivation {derivation.name!r} is registered twice")
        table[derivation.name] = derivation
    return table


DERIVATIONS: dict[str, Derivation] = derivations()


def get_derivation(name: str, table: Mapping[str, Derivation] = DERIVATIONS) -> Derivation:
    """The derivation called `name`; InputError naming the known ones if there is none."""
    try:
        return table[name]
    except KeyError:
        known = ", ".join(sorted(table))
        raise InputError(f"--derive: unknown derivation {name!r}; known: {known}") from None
