"""Demo data: deterministic, plausible, idempotent, and written in bulk."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import phonenumbers
import pycountry
import pytest

from tests.conformance.crm_suite import contents, snapshot
from tools.crm import CRM
from tools.sandbox import SandboxCRM
from tools.seed import BATCH, LISTS, SeedResult, demo_contacts, seed

COUNT = 1234  # more than one batch, and a remainder
EMAIL = re.compile(r"^[a-z]+\.[a-z]+\d+@[a-z-]+\.example$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@pytest.fixture
def make_crm(tmp_path: Path) -> Iterator[Callable[[], SandboxCRM]]:
    """Fresh sandboxes on SQLite files, closed after the test."""
    made: list[SandboxCRM] = []

    def make() -> SandboxCRM:
        made.append(SandboxCRM(f"sqlite:///{tmp_path / f'sandbox{len(made)}.db'}"))
        return made[-1]

    yield make
    for crm in made:
        crm.close()


@pytest.fixture
def crm(make_crm: Callable[[], SandboxCRM]) -> SandboxCRM:
    return make_crm()


@pytest.fixture
def seeded(crm: SandboxCRM) -> tuple[SandboxCRM, SeedResult]:
    return crm, seed(crm, COUNT)


def memberships(crm: CRM) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, key in crm.iter_memberships():
        found.setdefault(name, set()).add(key)
    return found


def test_counts(seeded: tuple[SandboxCRM, SeedResult]) -> None:
    crm, result = seeded
    assert COUNT > BATCH
    assert result.contacts_created == COUNT and result.contacts_skipped == 0
    assert result.lists_created == len(LISTS)
    assert result.memberships == sum(len(keys) for keys in memberships(crm).values())
    assert len(contents(crm)) == COUNT


def test_same_seed_same_data_other_seed_other_data(
    make_crm: Callable[[], SandboxCRM],
) -> None:
    first, second, other = make_crm(), make_crm(), make_crm()
    seed(first, 300)
    seed(second, 300)
    seed(other, 300, seed=8)
    assert snapshot(first) == snapshot(second)
    assert contents(first) != contents(other)


def test_seeding_again_skips_what_is_there(seeded: tuple[SandboxCRM, SeedResult]) -> None:
    crm, first = seeded
    before = snapshot(crm)
    again = seed(crm, COUNT)
    assert again == SeedResult(
        contacts_created=0, contacts_skipped=COUNT, lists_created=0,
        memberships=first.memberships,
    )
    assert snapshot(crm) == before


def test_seeding_more_adds_only_the_new(seeded: tuple[SandboxCRM, SeedResult]) -> None:
    crm, _ = seeded
    more = seed(crm, COUNT + 100)
    assert (more.contacts_created, more.contacts_skipped) == (100, COUNT)


def test_demo_contacts_are_what_seed_writes(seeded: tuple[SandboxCRM, SeedResult]) -> None:
    crm, _ = seeded
    expected = {r.key: {k: v for k, v in r.fields.items() if v} for r in demo_contacts(COUNT)}
    assert contents(crm) == expected


def test_emails_are_unique_and_well_formed() -> None:
    keys = [record.key for record in demo_contacts(COUNT)]
    assert len(set(keys)) == COUNT
    assert all(EMAIL.match(key) for key in keys), [k for k in keys if not EMAIL.match(k)][:3]


def test_countries_and_phones_are_real() -> None:
    for record in demo_contacts(COUNT):
        country = record.fields["country"]
        assert country and pycountry.countries.get(alpha_2=country) is not None
        phone = record.fields.get("phone")
        if phone:
            assert E164.match(phone), phone
            number = phonenumbers.parse(phone)
            assert phonenumbers.is_valid_number(number), phone
            assert phonenumbers.region_code_for_number(number) == country, phone


def test_some_fields_are_empty_and_names_are_not_all_ascii() -> None:
    records = list(demo_contacts(COUNT))
    for name in ("phone", "jobtitle", "city", "utm_source"):
        assert any(not r.fields.get(name) for r in records), name
        assert any(r.fields.get(name) for r in records), name
    assert any(not (r.fields["firstname"] or "").isascii() for r in records)


def test_lists_have_some_members(seeded: tuple[SandboxCRM, SeedResult]) -> None:
    crm, _ = seeded
    members = memberships(crm)
    assert set(members) == {name for name, _ in LISTS}
    for name, share in LISTS:
        assert crm.list_exists(name)
        assert share / 2 < len(members[name]) / COUNT < share * 2
        assert members[name] <= set(contents(crm))


def test_nothing_to_seed_still_makes_the_lists(crm: SandboxCRM) -> None:
    result = seed(crm, 0)
    assert result == SeedResult(
        contacts_created=0, contacts_skipped=0, lists_created=2, memberships=0,
    )
    assert list(crm.iter_contacts()) == []

