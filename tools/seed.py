"""Deterministic demo data for a CRM: plausible contacts and a couple of static lists.

`seed(crm, 200)` gives the same contacts for the same `seed` every time, so demos and tests
can name them. Seeding again is harmless: existing e-mails and lists are skipped, and
adding a member twice is not an error. Writes go in batches, so half a million contacts
take seconds.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from tools.changes import FieldValues
from tools.crm import CRM
from tools.errors import ToolError
from tools.records import Record, WriteResult

BATCH = 1000

# (shown, as in an e-mail address)
FIRST_NAMES = (
    ("Ada", "ada"), ("Alan", "alan"), ("Grace", "grace"), ("Linus", "linus"),
    ("Margaret", "margaret"), ("José", "jose"), ("Zoë", "zoe"), ("Łukasz", "lukasz"),
    ("Amélie", "amelie"), ("Søren", "soren"), ("Aiko", "aiko"), ("Priya", "priya"),
    ("Chidi", "chidi"), ("Mateo", "mateo"), ("Ingrid", "ingrid"), ("Omar", "omar"),
    ("Fatima", "fatima"), ("Kenji", "kenji"), ("Lucía", "lucia"), ("Noah", "noah"),
)
LAST_NAMES = (
    ("Lovelace", "lovelace"), ("Turing", "turing"), ("Hopper", "hopper"),
    ("Hamilton", "hamilton"), ("Müller", "mueller"), ("García", "garcia"),
    ("Nowak", "nowak"), ("Dubois", "dubois"), ("Kierkegaard", "kierkegaard"),
    ("Tanaka", "tanaka"), ("Sharma", "sharma"), ("Okafor", "okafor"), ("Silva", "silva"),
    ("Andersson", "andersson"), ("O'Brien", "obrien"), ("van Dijk", "vandijk"),
    ("Nguyen", "nguyen"), ("Rossi", "rossi"), ("Kowalski", "kowalski"), ("Smith", "smith"),
)
COMPANIES = (
    ("Northwind Traders", "northwind-traders"), ("Contoso", "contoso"),
    ("Globex", "globex"), ("Initech", "initech"), ("Umbrella Analytics", "umbrella-analytics"),
    ("Stark Logistics", "stark-logistics"), ("Wayne Foods", "wayne-foods"),
    ("Acme Robotics", "acme-robotics"), ("Hooli", "hooli"), ("Vandelay Industries", "vandelay"),
    ("Soylent Labs", "soylent-labs"), ("Tyrell Systems", "tyrell-systems"),
)
JOB_TITLES = (
    "Marketing Manager", "Head of Growth", "CMO", "Demand Generation Lead",
    "Marketing Operations Specialist", "Content Strategist", "Sales Director", "CTO",
)
LEAD_SOURCES = ("Website", "Webinar", "Trade show", "Referral", "Paid search", "Partner")
UTM_SOURCES = ("google", "linkedin", "newsletter", "facebook", "partner")
UTM_MEDIUMS = ("cpc", "social", "email", "referral")
UTM_CAMPAIGNS = ("spring_launch_2026", "webinar_2026_q1", "brand_awareness", "retargeting")


@dataclass(frozen=True)
class Country:
    """Cities of a country and how its phone numbers look (valid E.164 ranges)."""

    code: str
    cities: tuple[str, ...]
    prefixes: tuple[str, ...]  # country code and area code
    digits: int  # subscriber digits after the prefix
    low: int
    high: int


COUNTRIES = (
    Country("US", ("New York", "Chicago", "San Francisco", "Boston", "Seattle", "Austin"),
            ("+1212", "+1312", "+1415", "+1617", "+1206", "+1512"), 7, 2000000, 9999999),
    Country("CA", ("Toronto", "Vancouver", "Montréal"), ("+1416", "+1604", "+1514"),
            7, 2000000, 9999999),
    Country("GB", ("London",), ("+44207946",), 4, 0, 999),  # Ofcom's range for drama
    Country("DE", ("Berlin",), ("+4930",), 8, 10000000, 99999999),
    Country("FR", ("Paris",), ("+331",), 8, 40000000, 79999999),
    Country("NL", ("Amsterdam",), ("+3120",), 7, 5000000, 7999999),
    Country("ES", ("Madrid",), ("+3491",), 7, 1000000, 9999999),
    Country("SE", ("Stockholm",), ("+468",), 8, 10000000, 79999999),
    Country("PL", ("Warszawa",), ("+4822",), 7, 1000000, 9999999),
    Country("BR", ("São Paulo",), ("+55119",), 8, 60000000, 99999999),
    Country("JP", ("Tōkyō",), ("+813",), 8, 30000000, 69999999),
    Country("AU", ("Sydney",), ("+612",), 8, 90000000, 99999999),
    Country("IN", ("Bengaluru", "Mumbai"), ("+9198",), 8, 10000000, 99999999),
)

# Static lists, and the share of contacts in each.
LISTS = (("Newsletter", 0.4), ("Webinar 2026 attendees", 0.1))


class SeedResult(BaseModel):
    """What seeding did: contacts created or already there, lists created, memberships."""

    model_config = ConfigDict(frozen=True)

    contacts_created: int
    contacts_skipped: int
    lists_created: int
    memberships: int


def seed(crm: CRM, contacts: int = 200, *, seed: int = 7) -> SeedResult:
    """Fill `crm` with `contacts` demo contacts and the demo lists; the same `seed` gives
    the same data. Existing e-mails and lists are skipped."""
    lists_created = sum(_ensure_list(crm, name) for name, _ in LISTS)
    created = skipped = memberships = 0
    rng = random.Random(seed)
    pending: dict[str, list[str]] = {name: [] for name, _ in LISTS}
    for start in range(0, contacts, BATCH):
        records, members = _batch(rng, start, min(BATCH, contacts - start))
        done = _created(crm.create_contacts(records))
        created += done
        skipped += len(records) - done
        for name, keys in members.items():
            pending[name] += keys
            # Members are added a full batch at a time: each call is one commit.
            if len(pending[name]) >= BATCH:
                memberships += _add(crm, name, pending[name])
                pending[name] = []
    memberships += sum(_add(crm, name, keys) for name, keys in pending.items() if keys)
    return SeedResult(
        contacts_created=created, contacts_skipped=skipped,
        lists_created=lists_created, memberships=memberships,
    )


def demo_contacts(contacts: int, *, seed: int = 7) -> Iterator[Record]:
    """The contacts `seed()` would create, without writing them anywhere."""
    rng = random.Random(seed)
    for start in range(0, contacts, BATCH):
        yield from _batch(rng, start, min(BATCH, contacts - start))[0]


def _ensure_list(crm: CRM, name: str) -> bool:
    if crm.list_exists(name):
        return False
    return _checked([crm.create_list(name)])[0].ok


def _add(crm: CRM, name: str, keys: list[str]) -> int:
    return len(_checked(crm.add_members(name, keys)))


def _created(results: list[WriteResult]) -> int:
    # An existing contact is what a second seeding meets; anything else is a real failure.
    _checked([r for r in results if r.error != "contact already exists"])
    return sum(1 for r in results if r.ok)


def _checked(results: list[WriteResult]) -> list[WriteResult]:
    for result in results:
        if not result.ok:
            raise ToolError(f"seeding {result.key!r} failed: {result.error}")
    return results


def _batch(rng: random.Random, start: int, count: int) -> tuple[list[Record], dict[str, list[str]]]:
    """`count` contacts numbered from `start`, and which of them join each list."""
    records: list[Record] = []
    members: dict[str, list[str]] = {name: [] for name, _ in LISTS}
    for number in range(start, start + count):
        record = _contact(rng, number)
        records.append(record)
        for name, share in LISTS:
            if rng.random() < share:
                members[name].append(record.key)
    return records, members


def _contact(rng: random.Random, number: int) -> Record:
    first, first_ascii = rng.choice(FIRST_NAMES)
    last, last_ascii = rng.choice(LAST_NAMES)
    company, domain = rng.choice(COMPANIES)
    country = rng.choice(COUNTRIES)
    fields: FieldValues = {
        "firstname": first,
        "lastname": last,
        "company": company,
        "jobtitle": rng.choice(JOB_TITLES) if rng.random() < 0.8 else None,
        "phone": _phone(rng, country) if rng.random() < 0.85 else None,
        "country": country.code,
        "city": rng.choice(country.cities) if rng.random() < 0.9 else None,
        "website": f"https://www.{domain}.example",
        "lead_source": rng.choice(LEAD_SOURCES),
    }
    if rng.random() < 0.5:  # half came in through a tagged campaign link
        fields["utm_source"] = rng.choice(UTM_SOURCES)
        fields["utm_medium"] = rng.choice(UTM_MEDIUMS)
        fields["utm_campaign"] = rng.choice(UTM_CAMPAIGNS)
    email = f"{first_ascii}.{last_ascii}{number}@{domain}.example"
    return Record(key=email, fields=fields)


def _phone(rng: random.Random, country: Country) -> str:
    subscriber = rng.randint(country.low, country.high)
    return f"{rng.choice(country.prefixes)}{subscriber:0{country.digits}d}"
