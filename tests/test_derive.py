"""Derivations for `mops backfill --derive`: `tools.derive`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tools import derive
from tools.derive import (
    DERIVATIONS,
    Derivation,
    company_from_email_domain,
    country_from_email_tld,
    country_from_phone,
    derivations,
    freemail_domains,
    get_derivation,
)
from tools.errors import InputError


@pytest.mark.parametrize(("phone", "country"), [
    ("+49 30 123456", "DE"),
    ("+44 20 7946 0958", "GB"),
    ("0044 20 7946 0958", "GB"),            # 00 is the international prefix too
    ("  +33 1 23 45 67 89 ", "FR"),
    ("+1 212 555 0100", "US"),              # +1 is shared: a valid number has one region
    ("+1 416 555 0100", "CA"),
    ("+7 495 123 45 67", "RU"),             # +7 is RU and KZ
    ("+353 1 234 5678", "IE"),
    ("+49 12", "DE"),                       # not valid, but +49 is Germany alone
    ("+1 555 0100", None),                  # +1 and not a valid number: which region?
    ("+7 727 123 4567", None),              # invalid under the shared +7
    ("020 7946 0958", None),                # national: no country code
    ("(212) 555-0100", None),
    ("+800 1234 5678", None),               # international freephone: no country
    ("+383 44 123 456", None),              # Kosovo: XK is not an ISO 3166-1 code
    ("+", None),
    ("00", None),
    ("+abc", None),
    ("", None),
    (None, None),
])
def test_country_from_phone(phone: str | None, country: str | None) -> None:
    assert country_from_phone({"phone": phone}) == country


def test_country_from_phone_with_no_phone_field() -> None:
    assert country_from_phone({"email": "a@b.de"}) is None


@pytest.mark.parametrize(("email", "country"), [
    ("jane@acme.de", "DE"),
    ("jane@mail.acme-corp.co.uk", "GB"),     # .uk is GB
    ("JANE@ACME.CO.UK", "GB"),
    ("jane@acme.fr.", "FR"),                # a trailing dot is the root
    ("jane@example.com.au", "AU"),
    ("jane@example.ch", "CH"),
    ("jane@gmx.de", "DE"),                  # free mail still says the country
    ("jane@acme.com", None),                # generic
    ("jane@acme.org", None),
    ("jane@acme.net", None),
    ("jane@acme.info", None),
    ("jane@acme.eu", None),                 # a union, not a country
    ("jane@acme.io", None),                 # "tech" ccTLDs sold worldwide
    ("jane@acme.ai", None),
    ("jane@acme.co", None),
    ("jane@acme.me", None),
    ("jane@acme.tv", None),
    ("jane@acme.ag", None),                 # German AGs as often as Antigua
    ("jane@acme.zz", None),                 # not a country
    ("jane@localhost", None),
    ("not an address", None),
    ("@acme.de", None),
    ("", None),
    (None, None),
])
def test_country_from_email_tld(email: str | None, country: str | None) -> None:
    assert country_from_email_tld({"email": email}) == country


@pytest.mark.parametrize(("email", "company"), [
    ("jane@mail.acme-corp.co.uk", "Acme Corp"),
    ("JANE@Mail.ACME-CORP.CO.UK", "Acme Corp"),
    ("jane@acme.com", "Acme"),
    ("jane@eu.sales.acme.com", "Acme"),
    ("jane@big_data-co.io", "Big Data Co"),
    ("jane@example.com.au", "Example"),
    ("jane@xn--mnchen-3ya.de", "München"),
    ("jane@acme.com.", "Acme"),
    ("jane@co.uk", None),                   # a public suffix, no registrable label
    ("jane@localhost", None),
    ("jane@10.0.0.1", None),
    ("jane@[10.0.0.1]", None),
    ("jane", None),
    ("", None),
    (None, None),
])
def test_company_from_email_domain(email: str | None, company: str | None) -> None:
    assert company_from_email_domain({"email": email}) == company


@pytest.mark.parametrize("email", [
    "jane@gmail.com", "JANE@GMAIL.COM", "jane@googlemail.com", "jane@yahoo.com",
    "jane@yahoo.co.uk", "jane@de.yahoo.com", "jane@mail.yahoo.fr", "jane@hotmail.com",
    "jane@hotmail.co.uk", "jane@outlook.com", "jane@outlook.de", "jane@live.com",
    "jane@live.co.uk", "jane@aol.com", "jane@icloud.com", "jane@me.com", "jane@gmx.de",
    "jane@gmx.net", "jane@gmx.at", "jane@web.de", "jane@proton.me", "jane@protonmail.com",
    "jane@mail.ru", "jane@yandex.ru", "jane@yandex.com", "jane@qq.com", "jane@163.com",
    "jane@comcast.net", "jane@btinternet.com", "jane@mailinator.com",
])
def test_free_mail_never_gives_a_company(email: str) -> None:
    assert company_from_email_domain({"email": email}) is None


def test_no_listed_free_mail_domain_gives_a_company() -> None:
    names = freemail_domains()
    assert len(names) >= 100
    for name in names:
        domain = name.replace(".*", ".com")
        assert company_from_email_domain({"email": f"jane@{domain}"}) is None, name
        assert company_from_email_domain({"email": f"jane@smtp.{domain}"}) is None, name


def test_the_free_mail_list_is_tidy() -> None:
    text = Path(derive.__file__).with_name("data").joinpath("freemail.txt").read_text("utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(lines) == len(set(lines)), "a domain is listed twice"
    assert all(line == line.strip().lower() and " " not in line for line in lines)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every attempt to open a connection is recorded, then refused.

    Recorded, not only refused: tldextract logs and swallows failed downloads.
    """
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network use in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts


def _forget_suffix_list() -> None:
    derive._extractor.cache_clear()
    derive._domain_company.cache_clear()


def test_the_public_suffix_list_is_never_fetched(
    no_network: list[Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    # Even when the environment names a list to download and a cache to keep it in.
    monkeypatch.setenv("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "https://example.invalid/psl")
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _forget_suffix_list()
    try:
        assert company_from_email_domain({"email": "jane@mail.acme-corp.co.uk"}) == "Acme Corp"
        assert company_from_email_domain({"email": "jane@example.com.au"}) == "Example"
    finally:
        _forget_suffix_list()
    assert no_network == []
    assert list(tmp_path.iterdir()) == []


def test_the_registry_has_the_built_in_derivations() -> None:
    assert {name: (d.field, d.reads) for name, d in DERIVATIONS.items()} == {
        "country_from_phone": ("country", ("phone",)),
        "country_from_email_tld": ("country", ("email",)),
        "company_from_email_domain": ("company", ("email",)),
    }
    record = {"email": "jane@acme.de", "phone": "+44 20 7946 0958"}
    assert get_derivation("country_from_phone").derive(record) == "GB"
    assert get_derivation("country_from_email_tld").derive(record) == "DE"
    assert get_derivation("company_from_email_domain").derive(record) == "Acme"


def test_an_unknown_derivation_names_the_known_ones() -> None:
    with pytest.raises(InputError, match=(
        "unknown derivation 'country_from_ip'; known: company_from_email_domain, "
        "country_from_email_tld, country_from_phone"
    )):
        get_derivation("country_from_ip")


def test_more_derivations_can_be_added() -> None:
    utm = Derivation("lead_source_from_utm", "lead_source", ("utm_source",),
                     lambda record: record.get("utm_source") or None)
    table = derivations(extra=[utm])
    assert get_derivation("lead_source_from_utm", table) is utm
    assert set(table) == set(DERIVATIONS) | {"lead_source_from_utm"}
    assert "lead_source_from_utm" not in DERIVATIONS
    with pytest.raises(ValueError, match="registered twice"):
        derivations(extra=[DERIVATIONS["country_from_phone"]])
