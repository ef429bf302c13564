"""The conformance suite of the `tools.crm.CRM` protocol.

Every adapter (sandbox, HubSpot, Salesforce, Marketo against their fakes) runs these same
tests. Subclass `CRMConformance` in a module named ``test_*.py`` and provide a `crm`
fixture that yields a fresh, empty CRM and closes it afterwards::

    class TestSandboxOnSQLite(CRMConformance):
        @pytest.fixture
        def crm(self, tmp_path: Path) -> Iterator[CRM]:
            crm = SandboxCRM(f"sqlite:///{tmp_path / 'crm.db'}")
            yield crm
            crm.close()

The tests speak only the protocol. "Empty" is one thing however an adapter spells it: a
field read back as ``None``, ``""`` or absent is empty.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tools.changes import FieldValues
from tools.crm import CRM
from tools.records import Record, WriteResult

# Contact fields every adapter maps (the names mops uses, see tools/fields.py).
FIELDS = ("firstname", "lastname", "company", "country", "city")
UNKNOWN_FIELD = "shoe_size"
LISTS = ("Newsletter", "Webinar 2026 attendees")
BIG = 2500  # more than one batch of 1000, and not a multiple of it


def filled(fields: Mapping[str, str | None]) -> dict[str, str]:
    """The non-empty fields: how two reads of one contact are compared."""
    return {name: value for name, value in fields.items() if value}


def contact(key: str, **fields: str | None) -> Record:
    """A record to create."""
    return Record(key=key, fields=fields)


def oks(results: list[WriteResult]) -> list[bool]:
    """Which items succeeded, in order."""
    return [result.ok for result in results]


def contents(crm: CRM) -> dict[str, dict[str, str]]:
    """Every contact's non-empty fields, by key, through `iter_contacts`."""
    return {record.key: filled(record.fields) for record in crm.iter_contacts()}


class Snapshot(NamedTuple):
    """A CRM's whole state as plain data, to compare before and after."""

    contacts: dict[str, dict[str, str]]
    memberships: list[tuple[str, str]]


def snapshot(crm: CRM) -> Snapshot:
    """Every contact (non-empty fields) and every membership, through the protocol."""
    return Snapshot(contents(crm), list(crm.iter_memberships()))


def emails(count: int, prefix: str = "user") -> list[str]:
    """`count` distinct e-mail addresses, not in key order."""
    keys = [f"{prefix}{n:05d}@example.com" for n in range(count)]
    random.Random(count).shuffle(keys)
    return keys


class CRMConformance:
    """Tests every `CRM` passes. Subclasses provide the `crm` fixture (fresh and empty)."""

    @pytest.fixture
    def crm(self) -> Iterator[CRM]:
        raise NotImplementedError("a conformance subclass must provide a fresh `crm`")

    # --- fields -------------------------------------------------------------------------

    def test_is_a_crm_with_a_name(self, crm: CRM) -> None:
        assert isinstance(crm, CRM)
        assert crm.name

    def test_describe_fields_has_the_key_and_the_common_fields(self, crm: CRM) -> None:
        fields = {info.name: info for info in crm.describe_fields()}
        assert len(fields) == len(crm.describe_fields()), "field names are unique"
        assert "email" in fields and not fields["email"].writable
        assert all(fields[name].writable for name in FIELDS)
        assert UNKNOWN_FIELD not in fields

    # --- create and read ----------------------------------------------------------------

    def test_create_then_read_back(self, crm: CRM) -> None:
        results = crm.create_contacts([
            contact("ada@example.com", firstname="Ada", lastname="Lovelace", country="GB"),
            contact("alan@example.com", firstname="Alan"),
        ])
        assert results == [
            WriteResult(key="ada@example.com", ok=True),
            WriteResult(key="alan@example.com", ok=True),
        ]
        found = crm.read_contacts(["ada@example.com", "alan@example.com"])
        assert {key: filled(record.fields) for key, record in found.items()} == {
            "ada@example.com": {"firstname": "Ada", "lastname": "Lovelace", "country": "GB"},
            "alan@example.com": {"firstname": "Alan"},
        }
        assert all(record.key == key for key, record in found.items())

    def test_read_leaves_out_missing_keys(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com", firstname="Ada")])
        found = crm.read_contacts(["nobody@example.com", "ada@example.com", "ada@example.com"])
        assert list(found) == ["ada@example.com"]

    def test_create_existing_is_an_item_error_and_the_others_are_created(
        self, crm: CRM,
    ) -> None:
        crm.create_contacts([contact("ada@example.com", firstname="Ada")])
        results = crm.create_contacts([
            contact("grace@example.com", firstname="Grace"),
            contact("ada@example.com", firstname="Impostor"),
            contact("linus@example.com"),
        ])
        assert [r.key for r in results] == [
            "grace@example.com", "ada@example.com", "linus@example.com",
        ]
        assert oks(results) == [True, False, True]
        assert results[1].error
        assert sorted(contents(crm)) == [
            "ada@example.com", "grace@example.com", "linus@example.com",
        ]
        assert contents(crm)["ada@example.com"] == {"firstname": "Ada"}

    def test_create_the_same_key_twice_in_one_call_creates_it_once(self, crm: CRM) -> None:
        results = crm.create_contacts([
            contact("ada@example.com", firstname="Ada"),
            contact("ada@example.com", firstname="Second"),
        ])
        assert oks(results) == [True, False]
        assert contents(crm) == {"ada@example.com": {"firstname": "Ada"}}

    def test_create_with_an_unknown_field_is_an_item_error(self, crm: CRM) -> None:
        results = crm.create_contacts([
            contact("ada@example.com", firstname="Ada"),
            Record(key="bob@example.com", fields={"firstname": "Bob", UNKNOWN_FIELD: "44"}),
        ])
        assert oks(results) == [True, False]
        assert results[1].error and UNKNOWN_FIELD in results[1].error
        assert list(contents(crm)) == ["ada@example.com"]

    def test_empty_values_read_back_empty(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com", firstname="Ada", company="", city=None)])
        record = crm.read_contacts(["ada@example.com"])["ada@example.com"]
        assert filled(record.fields) == {"firstname": "Ada"}

    def test_unicode_values_round_trip(self, crm: CRM) -> None:
        values = {
            "firstname": "Zoë Łukasz Søren", "lastname": "García-Müller O'Brien",
            "company": "東京ロボティクス株式会社", "city": "São Paulo 😀", "country": "עברית",
        }
        crm.create_contacts([Record(key="zoe@example.com", fields=values)])
        assert contents(crm) == {"zoe@example.com": values}
        decomposed = "Ame\u0301lie"  # not normalised by the CRM either
        crm.update_contacts([("zoe@example.com", {"firstname": decomposed})])
        assert contents(crm)["zoe@example.com"]["firstname"] == decomposed

    # --- update -------------------------------------------------------------------------

    def test_update_changes_only_the_given_fields(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com", firstname="Ada", lastname="Byron")])
        results = crm.update_contacts([("ada@example.com", {"lastname": "Lovelace"})])
        assert results == [WriteResult(key="ada@example.com", ok=True)]
        assert contents(crm) == {"ada@example.com": {"firstname": "Ada", "lastname": "Lovelace"}}

    def test_update_to_none_or_empty_string_empties_the_field(self, crm: CRM) -> None:
        crm.create_contacts([
            contact("ada@example.com", firstname="Ada", city="London", company="X"),
        ])
        crm.update_contacts([("ada@example.com", {"city": None, "company": ""})])
        assert contents(crm) == {"ada@example.com": {"firstname": "Ada"}}

    def test_updates_of_different_fields_in_one_call_leave_the_others(self, crm: CRM) -> None:
        full = {"firstname": "F", "lastname": "L", "company": "C", "city": "T"}
        crm.create_contacts([Record(key=f"{n}@example.com", fields=full) for n in "abcd"])
        # d is not updated: each update touches only its own contact and fields.
        crm.update_contacts([("a@example.com", {"firstname": "Ann"}),
                             ("b@example.com", {"lastname": None, "city": "Rome"}),
                             ("c@example.com", {"company": ""})])
        assert contents(crm) == {
            "a@example.com": full | {"firstname": "Ann"},
            "b@example.com": {"firstname": "F", "company": "C", "city": "Rome"},
            "c@example.com": {"firstname": "F", "lastname": "L", "city": "T"},
            "d@example.com": full,
        }

    def test_creates_of_different_fields_in_one_call_set_only_theirs(self, crm: CRM) -> None:
        results = crm.create_contacts([
            contact(f"u{i}@example.com", **({"firstname": f"F{i}"} if i % 2 else {}),
                    **({"city": f"C{i}"} if i % 3 else {}))
            for i in range(1, 40)])
        assert all(oks(results))
        assert contents(crm) == {
            f"u{i}@example.com": ({"firstname": f"F{i}"} if i % 2 else {})
            | ({"city": f"C{i}"} if i % 3 else {}) for i in range(1, 40)}

    def test_update_missing_key_is_an_item_error(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com", firstname="Ada")])
        results = crm.update_contacts([
            ("nobody@example.com", {"firstname": "X"}),
            ("ada@example.com", {"city": "London"}),
        ])
        assert oks(results) == [False, True]
        assert results[0].key == "nobody@example.com" and results[0].error
        assert contents(crm) == {"ada@example.com": {"firstname": "Ada", "city": "London"}}

    def test_update_with_an_unknown_field_is_an_item_error(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com"), contact("bob@example.com")])
        results = crm.update_contacts([
            ("ada@example.com", {"firstname": "Ada", UNKNOWN_FIELD: "38"}),
            ("bob@example.com", {"firstname": "Bob"}),
        ])
        assert oks(results) == [False, True]
        assert results[0].error and UNKNOWN_FIELD in results[0].error
        assert contents(crm) == {"ada@example.com": {}, "bob@example.com": {"firstname": "Bob"}}

    def test_updates_of_one_key_apply_in_order(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com")])
        results = crm.update_contacts([
            ("ada@example.com", {"firstname": "A"}),
            ("ada@example.com", {"firstname": "B", "city": "Paris"}),
            ("ada@example.com", {"firstname": "C"}),
            ("ada@example.com", {"city": None}),
        ])
        assert oks(results) == [True] * 4
        assert contents(crm) == {"ada@example.com": {"firstname": "C"}}

    # --- delete -------------------------------------------------------------------------

    def test_delete_removes_the_contact_and_its_memberships(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com"), contact("bob@example.com")])
        crm.create_list("Newsletter")
        crm.add_members("Newsletter", ["ada@example.com", "bob@example.com"])
        results = crm.delete_contacts(["ada@example.com"])
        assert results == [WriteResult(key="ada@example.com", ok=True)]
        assert crm.read_contacts(["ada@example.com"]) == {}
        assert crm.list_members("Newsletter", ["ada@example.com", "bob@example.com"]) == {
            "bob@example.com",
        }
        assert list(crm.iter_memberships()) == [("Newsletter", "bob@example.com")]

    def test_delete_missing_key_is_an_item_error(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com")])
        results = crm.delete_contacts(["nobody@example.com", "ada@example.com"])
        assert oks(results) == [False, True]
        assert results[0].error
        assert contents(crm) == {}

    # --- lists --------------------------------------------------------------------------

    def test_list_create_exists_delete(self, crm: CRM) -> None:
        assert not crm.list_exists("Newsletter")
        assert crm.create_list("Newsletter").ok
        assert crm.list_exists("Newsletter")
        assert not crm.list_exists("Webinar 2026 attendees")
        assert crm.delete_list("Newsletter").ok
        assert not crm.list_exists("Newsletter")

    def test_create_existing_list_is_an_error(self, crm: CRM) -> None:
        crm.create_list("Newsletter")
        result = crm.create_list("Newsletter")
        assert not result.ok and result.error

    def test_delete_missing_list_is_an_error(self, crm: CRM) -> None:
        result = crm.delete_list("Newsletter")
        assert not result.ok and result.error

    def test_delete_list_takes_its_memberships(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com")])
        for name in LISTS:
            crm.create_list(name)
            crm.add_members(name, ["ada@example.com"])
        crm.delete_list("Newsletter")
        assert list(crm.iter_memberships()) == [("Webinar 2026 attendees", "ada@example.com")]
        crm.create_list("Newsletter")
        assert crm.list_members("Newsletter", ["ada@example.com"]) == set()
        assert "ada@example.com" in contents(crm), "contacts stay"

    def test_add_members_is_idempotent(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com"), contact("bob@example.com")])
        crm.create_list("Newsletter")
        first = crm.add_members("Newsletter", ["ada@example.com", "ada@example.com"])
        again = crm.add_members("Newsletter", ["ada@example.com", "bob@example.com"])
        assert oks(first) == [True, True] and oks(again) == [True, True]
        assert [r.key for r in again] == ["ada@example.com", "bob@example.com"]
        assert list(crm.iter_memberships()) == [
            ("Newsletter", "ada@example.com"), ("Newsletter", "bob@example.com"),
        ]

    def test_add_unknown_contact_is_an_item_error(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com")])
        crm.create_list("Newsletter")
        results = crm.add_members("Newsletter", ["nobody@example.com", "ada@example.com"])
        assert oks(results) == [False, True]
        assert results[0].error
        assert list(crm.iter_memberships()) == [("Newsletter", "ada@example.com")]

    def test_add_to_missing_list_is_an_item_error(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com")])
        results = crm.add_members("Newsletter", ["ada@example.com"])
        assert oks(results) == [False] and results[0].error
        assert not crm.list_exists("Newsletter")

    def test_remove_members_is_idempotent(self, crm: CRM) -> None:
        crm.create_contacts([contact("ada@example.com"), contact("bob@example.com")])
        crm.create_list("Newsletter")
        crm.add_members("Newsletter", ["ada@example.com", "bob@example.com"])
        results = crm.remove_members("Newsletter", ["ada@example.com", "nobody@example.com"])
        again = crm.remove_members("Newsletter", ["ada@example.com"])
        assert oks(results) == [True, True] and oks(again) == [True]
        assert list(crm.iter_memberships()) == [("Newsletter", "bob@example.com")]
        assert "ada@example.com" in contents(crm), "the contact stays"

    def test_list_members_answers_for_the_keys_asked(self, crm: CRM) -> None:
        crm.create_contacts([contact(key) for key in ("a@x.example", "b@x.example", "c@x.example")])
        crm.create_list("Newsletter")
        crm.add_members("Newsletter", ["a@x.example", "b@x.example"])
        asked = ["b@x.example", "c@x.example", "nobody@x.example"]
        assert crm.list_members("Newsletter", asked) == {"b@x.example"}
        assert crm.list_members("Newsletter", []) == set()
        assert crm.list_members("No such list", ["a@x.example"]) == set()

    def test_count_members(self, crm: CRM) -> None:
        crm.create_contacts([contact(key) for key in ("a@x.example", "b@x.example")])
        crm.create_list("Newsletter")
        assert crm.count_members("Newsletter") == 0
        crm.add_members("Newsletter", ["a@x.example", "b@x.example", "a@x.example"])
        assert crm.count_members("Newsletter") == 2
        assert crm.count_members("No such list") == 0

    # --- iteration and size -------------------------------------------------------------

    def test_iter_contacts_is_complete_and_in_key_order(self, crm: CRM) -> None:
        keys = ["b@x.example", "a.b@x.example", "ab@x.example", "A@x.example", "z@x.example"]
        crm.create_contacts([contact(key, firstname=key[0]) for key in keys])
        records = list(crm.iter_contacts())
        assert [r.key for r in records] == sorted(keys)
        assert all(filled(r.fields) == {"firstname": r.key[0]} for r in records)

    def test_iter_memberships_is_ordered_by_list_then_key(self, crm: CRM) -> None:
        crm.create_contacts([contact(key) for key in ("b@x.example", "a@x.example")])
        for name in reversed(LISTS):
            crm.create_list(name)
            crm.add_members(name, ["b@x.example", "a@x.example"])
        expected = [(name, key) for name in sorted(LISTS) for key in ("a@x.example", "b@x.example")]
        assert list(crm.iter_memberships()) == expected

    def test_empty_inputs_do_nothing(self, crm: CRM) -> None:
        crm.create_list("Newsletter")
        assert crm.create_contacts([]) == []
        assert crm.update_contacts([]) == []
        assert crm.delete_contacts([]) == []
        assert crm.read_contacts([]) == {}
        assert crm.add_members("Newsletter", []) == []
        assert crm.remove_members("Newsletter", []) == []
        assert list(crm.iter_contacts()) == [] and list(crm.iter_memberships()) == []

    def test_batches_larger_than_a_thousand(self, crm: CRM) -> None:
        keys = emails(BIG)
        assert all(oks(crm.create_contacts([contact(k, firstname=k[:9]) for k in keys])))
        assert len(crm.read_contacts(keys)) == BIG
        updates: list[tuple[str, FieldValues]] = [(k, {"city": "Oslo"}) for k in keys]
        assert all(oks(crm.update_contacts(updates)))
        crm.create_list("Newsletter")
        assert all(oks(crm.add_members("Newsletter", keys)))
        assert crm.list_members("Newsletter", keys) == set(keys)
        records = list(crm.iter_contacts())
        assert [r.key for r in records] == sorted(keys)
        assert all(filled(r.fields) == {"firstname": r.key[:9], "city": "Oslo"} for r in records)
        assert list(crm.iter_memberships()) == [("Newsletter", k) for k in sorted(keys)]
        assert all(oks(crm.remove_members("Newsletter", keys[:1500])))
        assert crm.list_members("Newsletter", keys) == set(keys[1500:])
        assert all(oks(crm.delete_contacts(keys)))
        assert contents(crm) == {} and list(crm.iter_memberships()) == []

    # --- against a model ----------------------------------------------------------------

    def test_random_operations_match_a_model(self, crm: CRM) -> None:
        namespaces = itertools.count()
        run_state_machine_as_test(  # type: ignore[no-untyped-call]
            lambda: CRMModel(crm, f"m{next(namespaces)}-"), settings=MODEL_SETTINGS,
        )


MODEL_SETTINGS = settings(
    max_examples=25, stateful_step_count=15, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

_TEXT = st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=12)
_VALUES = st.one_of(st.none(), st.just(""), _TEXT)
_FIELD_VALUES = st.dictionaries(st.sampled_from(FIELDS), _VALUES, max_size=3)
_SLOTS = st.lists(st.integers(0, 5), max_size=4)


class CRMModel(RuleBasedStateMachine):
    """Random creates, updates, deletes and list changes, checked against dicts.

    The CRM is shared by every example of a run, so each example works in its own
    namespace of keys and list names and compares only what lies inside it.
    """

    def __init__(self, crm: CRM, namespace: str) -> None:
        super().__init__()
        self.crm = crm
        self.keys = [f"{namespace}{slot}@example.com" for slot in range(6)]
        self.lists = [f"{namespace}{name}" for name in LISTS]
        self.contacts: dict[str, dict[str, str]] = {}
        self.members: dict[str, set[str]] = {}

    @initialize()
    def start_empty(self) -> None:
        assert self.crm.read_contacts(self.keys) == {}

    @rule(slots=st.lists(st.integers(0, 5), unique=True, max_size=4), fields=_FIELD_VALUES)
    def create(self, slots: list[int], fields: FieldValues) -> None:
        keys = [self.keys[slot] for slot in slots]
        results = self.crm.create_contacts([Record(key=key, fields=fields) for key in keys])
        assert oks(results) == [key not in self.contacts for key in keys]
        for key in keys:
            self.contacts.setdefault(key, filled(fields))

    @rule(updates=st.lists(st.tuples(st.integers(0, 5), _FIELD_VALUES), max_size=4))
    def update(self, updates: list[tuple[int, FieldValues]]) -> None:
        pairs = [(self.keys[slot], fields) for slot, fields in updates]
        results = self.crm.update_contacts(pairs)
        assert oks(results) == [key in self.contacts for key, _ in pairs]
        for key, fields in pairs:  # in order: a later update of a key wins
            if key in self.contacts:
                self.contacts[key] = filled({**self.contacts[key], **fields})

    @rule(slots=st.lists(st.integers(0, 5), unique=True, max_size=3))
    def delete(self, slots: list[int]) -> None:
        keys = [self.keys[slot] for slot in slots]
        assert oks(self.crm.delete_contacts(keys)) == [key in self.contacts for key in keys]
        for key in keys:
            self.contacts.pop(key, None)
            for members in self.members.values():
                members.discard(key)

    @rule(which=st.integers(0, 1))
    def create_list(self, which: int) -> None:
        name = self.lists[which]
        assert self.crm.create_list(name).ok == (name not in self.members)
        self.members.setdefault(name, set())

    @rule(which=st.integers(0, 1))
    def delete_list(self, which: int) -> None:
        name = self.lists[which]
        assert self.crm.delete_list(name).ok == (name in self.members)
        self.members.pop(name, None)

    @precondition(lambda self: bool(self.members))
    @rule(which=st.integers(0, 1), slots=_SLOTS)
    def add_members(self, which: int, slots: list[int]) -> None:
        name = sorted(self.members)[which % len(self.members)]
        keys = [self.keys[slot] for slot in slots]
        assert oks(self.crm.add_members(name, keys)) == [key in self.contacts for key in keys]
        self.members[name] |= set(keys) & set(self.contacts)

    @precondition(lambda self: bool(self.members))
    @rule(which=st.integers(0, 1), slots=_SLOTS)
    def remove_members(self, which: int, slots: list[int]) -> None:
        name = sorted(self.members)[which % len(self.members)]
        keys = [self.keys[slot] for slot in slots]
        assert all(oks(self.crm.remove_members(name, keys)))
        self.members[name] -= set(keys)

    @invariant()
    def contacts_match(self) -> None:
        found = self.crm.read_contacts(self.keys)
        assert {key: filled(r.fields) for key, r in found.items()} == self.contacts

    @invariant()
    def lists_match(self) -> None:
        for name in self.lists:
            assert self.crm.list_exists(name) == (name in self.members)
            assert self.crm.list_members(name, self.keys) == self.members.get(name, set())

    def teardown(self) -> None:
        # The streams agree with the model too, in order.
        mine = [r.key for r in self.crm.iter_contacts() if r.key in self.keys]
        assert mine == sorted(self.contacts)
        pairs = [pair for pair in self.crm.iter_memberships() if pair[0] in self.lists]
        assert pairs == sorted((name, key) for name, keys in self.members.items() for key in keys)
