"""A uniform batch (changes differing only in key and reason) reads back exactly as
validating each line would read it, and anything else is validated line by line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from agents.plans import decode_batch, encode_batch, read_batch
from agents.uniform import Uniform, decode_uniform, encode_uniform
from tools.changes import MEMBER_IN, MEMBER_OUT, Change

_VALIDATE = TypeAdapter(list[Change]).validate_json
# Text that looks like the bytes around a key: quotes, escapes, the template's own pieces.
_AWKWARD = st.sampled_from(['"', "\\", '\\"', ",", '","list_name":"L",', "\x00key\x00",
                            "\x00reason\x00", "é", "😀", "\n", "}", ""])
_TEXT = st.lists(st.one_of(st.text(max_size=6), _AWKWARD), max_size=4).map("".join)


def _member(key: str, reason: str, list_name: str = "Expo",
            op: str = "add_member") -> Change:
    before, after = (MEMBER_OUT, MEMBER_IN) if op == "add_member" else (MEMBER_IN, None)
    return Change(op, "list_membership", key, None if before is None else dict(before),  # type: ignore[arg-type]
                  None if after is None else dict(after), list_name, reason)


def _validated_whole(encoded: bytes) -> list[Change]:
    return _VALIDATE(b"[" + encoded.rstrip(b"\n").replace(b"\n", b",") + b"]")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_TEXT, _TEXT), min_size=2, max_size=30), _TEXT,
       st.sampled_from(["add_member", "remove_member"]))
def test_a_uniform_batch_reads_back_as_validating_each_line_does(
        pairs: list[tuple[str, str]], list_name: str, op: str) -> None:
    changes = [_member(key, reason, list_name, op) for key, reason in pairs]
    encoded = encode_batch(changes)
    lines = encoded.rstrip(b"\n").split(b"\n")
    # The template path is taken, unless the list's name may hold one of its stand-ins.
    uniform = decode_uniform(lines, _VALIDATE)
    assert uniform is not None or "\x00" in list_name
    if uniform is not None:
        assert uniform.changes() == changes
        assert (uniform.keys, uniform.reasons) == ([k for k, _ in pairs], [r for _, r in pairs])
        assert read_batch(encoded) == uniform
    assert decode_batch(encoded) == changes == _validated_whole(encoded)
    # Written by template, it is the same bytes as each change written by itself.
    one_by_one = b"".join(c.canonical() + b"\n" for c in changes)
    assert encoded == one_by_one
    assert encode_uniform(changes) in ([one_by_one] if "\x00" not in list_name
                                       else [one_by_one, None])


def test_a_batch_is_filled_in_by_template_only_where_every_value_is_the_first_ones() -> None:
    base = Change("update", "contact", "a@x.com", {"city": None}, {"city": "Oslo"})
    others = [
        Change("update", "contact", "b@x.com", {"city": None}, {"city": "Rome"}),
        Change("update", "contact", "b@x.com", {"city": ""}, {"city": "Oslo"}),
        Change("update", "contact", "b@x.com", {"city": None}, {"city": "Oslo", "x": None}),
        Change("delete", "contact", "b@x.com", {"city": None}, {"city": "Oslo"}),
        Change("update", "contact", "b@x.com", {"city": None}, {"city": "Oslo"}, "L"),
    ]
    for other in others:
        assert encode_uniform([base, other]) is None
        assert encode_batch([base, other]) == base.canonical() + b"\n" + other.canonical() + b"\n"
    same = Change("update", "contact", "b@x.com", {"city": None}, {"city": "Oslo"}, None, "r")
    assert encode_uniform([base, same]) == base.canonical() + b"\n" + same.canonical() + b"\n"
    # Values that are not text are never filled in: equal is not written the same (1, True).
    odd = Change("update", "contact", "a@x.com", {"n": 1}, {"n": True})  # type: ignore[dict-item]
    assert encode_uniform([odd, odd]) is None
    # Nor a list's name or a reason that is not text (1 == True; a dict's keys unsorted).
    named = [_member("a@x.com", "r", list_name=1), _member("b@x.com", "r", list_name=True)]  # type: ignore[arg-type]
    assert encode_uniform(named) is None
    reasons = [_member(k, {"b": 1, "a": 2}) for k in ("a@x.com", "b@x.com")]  # type: ignore[arg-type]
    assert encode_uniform(reasons) is None


def test_a_uniform_batch_is_read_as_its_first_change_and_every_lines_key() -> None:
    changes = [_member("a@x.com", "r1"), _member("b@x.com", "r2")]
    batch = read_batch(encode_batch(changes))
    assert isinstance(batch, Uniform)
    assert batch.first == changes[0] and batch.keys == ["a@x.com", "b@x.com"]
    assert batch.changes() == changes


def test_batches_that_are_not_uniform_are_validated_whole() -> None:
    mixed = [
        [_member("a@x.com", "r1"), _member("b@x.com", "r2", list_name="Other")],
        [_member("a@x.com", "r1"), _member("b@x.com", "r2", op="remove_member")],
        [Change("create", "contact", "a@x.com", None, {"city": "Oslo"}),
         Change("create", "contact", "b@x.com", None, {"city": "Rome"})],
        [_member("a@x.com", "r1"),
         Change("update", "contact", "b@x.com", {"city": None}, {"city": "Rome"})],
    ]
    for changes in mixed:
        encoded = encode_batch(changes)
        assert decode_uniform(encoded.rstrip(b"\n").split(b"\n"), _VALIDATE) is None
        assert decode_batch(encoded) == changes


@pytest.mark.parametrize("line", [
    b'{"after":{"member":"true"},"before":{"member":null},"key":12,"list_name":"Expo",'
    b'"object":"list_membership","op":"add_member","reason":"r"}',
    b'{"after":{"member":"true"},"before":{"member":null},"key":"c@x.com","list_name":"Expo",'
    b'"object":"list_membership","op":"add_member","reason":["r"]}',
    b'{"after":{"member":"true"},"before":{"member":null},"key":"c@x.com","list_name":"Expo",'
    b'"object":"list_membership","op":"add_member","reason":"r","extra":1}',
    b'{"after":{"member":"true"},"before":{"member":null},"key":"c@x.com","k2":"d",'
    b'"list_name":"Expo","object":"list_membership","op":"add_member","reason":"r"}',
    b'{"after":{"member":"true"},"before":{"member":null},"key":"c@x.com","d@x.com",'
    b'"list_name":"Expo","object":"list_membership","op":"add_member","reason":"r"}',
])
def test_a_bad_line_after_good_ones_is_refused_as_validation_refuses_it(line: bytes) -> None:
    encoded = encode_batch([_member("a@x.com", "r"), _member("b@x.com", "r")]) + line + b"\n"
    with pytest.raises(ValidationError):
        decode_batch(encoded)


def _pieces(key: bytes, reason: bytes) -> bytes:
    """A line of `_member`'s template with `key` and `reason` put in as they are."""
    head, rest = _member("\x01", "\x02").canonical().split(b'"\\u0001"')
    middle, tail = rest.split(b'"\\u0002"')
    return head + key + middle + reason + tail


@pytest.mark.parametrize("lines", [
    # Broken pieces that join into strings of the right number: `"a` + `,` + `b"`, ...
    [_pieces(b'"a', b'b"'), _pieces(b'"c","d"', b'"e"')],
    [_pieces(b'"', b'"'), _pieces(b'"c"', b'"d"')],
    # A first line holding no change.
    [b"", _pieces(b'"c"', b'"d"')],
])
def test_lines_that_only_look_uniform_are_refused_as_validation_refuses_them(
        lines: list[bytes]) -> None:
    good = encode_batch([_member("a@x.com", "r")]) if lines[0] else b""
    encoded = good + b"\n".join(lines) + b"\n"
    with pytest.raises(ValidationError):
        _validated_whole(encoded)
    with pytest.raises(ValidationError):
        decode_batch(encoded)


def test_a_first_line_holding_two_changes_reads_as_validation_reads_it() -> None:
    two = _member("a@x.com", "r").canonical() + b"," + _member("b@x.com", "r").canonical()
    encoded = two + b"\n" + _pieces(b'"c@x.com"', b'"r"') + b"\n"
    assert decode_batch(encoded) == _validated_whole(encoded)
    assert [c.key for c in decode_batch(encoded)] == ["a@x.com", "b@x.com", "c@x.com"]


def test_a_line_written_otherwise_reads_as_validation_reads_it() -> None:
    odd = _pieces(b'"\\u0063@x.com"', b' "r" ')        # an escape, and spaces
    encoded = encode_batch([_member("a@x.com", "r"), _member("b@x.com", "r")]) + odd + b"\n"
    assert decode_batch(encoded) == _validated_whole(encoded)
    assert decode_batch(encoded)[2] == _member("c@x.com", "r")


def test_each_change_read_back_has_values_of_its_own() -> None:
    changes = decode_batch(encode_batch([_member("a@x.com", "r"), _member("b@x.com", "r")]))
    assert changes[0].after == changes[1].after and changes[0].after is not changes[1].after
    assert changes[0].before is not changes[1].before


def test_short_and_empty_batches() -> None:
    assert decode_batch(b"") == []
    one = [_member("a@x.com", "r")]
    assert decode_batch(encode_batch(one)) == one
