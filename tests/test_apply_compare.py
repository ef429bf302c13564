"""What a change's record holds now (`touched`) and how it compares (`settle`, `matches`)."""

from __future__ import annotations

import pytest

from tools.apply import matches, settle, touched
from tools.changes import Change
from tools.records import Record

RECORD = Record(key="a@x.example", fields={"firstname": "Ann", "lastname": "Lee",
                                           "city": "", "country": None})


@pytest.mark.parametrize(("change", "fields"), [
    (Change("create", "contact", "a@x.example", None, {"firstname": "Ann", "phone": "1"}),
     {"firstname", "phone"}),
    (Change("delete", "contact", "a@x.example", {"firstname": "Ann", "city": None}, None),
     {"firstname", "city"}),
    (Change("update", "contact", "a@x.example", {"lastname": "Lee"}, {"lastname": "Li"}),
     {"lastname"}),
    # An update whose sides name different fields: every field of either side.
    (Change("update", "contact", "a@x.example", {"lastname": "Lee"},
            {"lastname": "Li", "country": "NO"}), {"lastname", "country"}),
    (Change("update", "contact", "a@x.example", {}, {"country": "NO"}), {"country"}),
    (Change("update", "contact", "a@x.example", {"city": None}, {}), {"city"}),
])
def test_touched_holds_every_field_either_side_names(change: Change, fields: set[str]) -> None:
    now = touched(change, RECORD)
    assert now is not None and set(now) == fields
    assert all(now[f] == RECORD.fields.get(f) for f in fields)
    assert touched(change, None) is None


def test_empty_and_absent_match_and_a_differing_value_does_not() -> None:
    assert matches({"city": "", "country": None}, {"city": None, "country": ""})
    assert matches({"city": "Oslo", "x": "1"}, {"city": "Oslo"})
    assert not matches({"city": "Oslo"}, {"city": "Rome"})
    assert not matches({"city": "Oslo"}, {"city": None})
    assert matches(None, None) and not matches({}, None) and not matches(None, {})


def test_settle_tells_apply_done_and_conflict() -> None:
    update = Change("update", "contact", "a@x.example", {"lastname": "Lee"}, {"lastname": "Li"})
    assert settle(update, {"lastname": "Lee"}) == "apply"
    assert settle(update, {"lastname": "Li"}) == "done"
    assert settle(update, {"lastname": "Lin"}) == "conflict"
    delete = Change("delete", "contact", "a@x.example", {"firstname": "Ann"}, None)
    assert settle(delete, {"firstname": "Ann"}) == "apply"
    assert settle(delete, None) == "done"
    assert settle(delete, {"firstname": "Bo"}) == "conflict"
