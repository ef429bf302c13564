"""Uniform batches: ones whose changes differ only in their key and reason.

Most of a list upload's changes are memberships of one list, and so is most of its
rollback: each line of such a batch is the same bytes around two strings. Such a batch is
written by filling a template (`encode_uniform`), the same bytes as each change's canonical
JSON, and read back as its first change and every line's key and reason (`Uniform`), so
that writing memberships need not make a change per key. The first line
is validated as any change is (`validate`); every other line must then be those same bytes
around a key and a reason, each written as `orjson` writes a string. Such a line is the
canonical JSON of the first change with another key and reason, so it reads back as
validating it would read it. Anything else (creates, updates: their values differ; a line
written otherwise) is left to `validate`, having cost a look at its first lines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import orjson

from tools.changes import Change

# Stand-ins for the key and reason in a line's template. (Should a change's other values hold
# one, the template is refused and the batch validated line by line.)
_KEY, _REASON = "\x00key\x00", "\x00reason\x00"
_KEY_JSON, _REASON_JSON = orjson.dumps(_KEY), orjson.dumps(_REASON)


@dataclass(frozen=True, slots=True)
class Uniform:
    """A batch read by template: line i is `first` with the key `keys[i]` and the reason
    `reasons[i]` (so `keys[0]` is `first.key`); at least two lines.

    `first`'s values stand for every line's: read them, do not change them (`changes()`
    gives each change dicts of its own)."""

    first: Change
    keys: list[str]
    reasons: list[str]

    def changes(self) -> list[Change]:
        """The batch as changes, each with values of its own, as validating each line would
        give it."""
        first = self.first
        op, obj, list_name, before, after = (first.op, first.object, first.list_name,
                                             first.before, first.after)
        return [Change(op, obj, key, None if before is None else dict(before),
                       None if after is None else dict(after), list_name, reason)
                for key, reason in zip(self.keys, self.reasons, strict=True)]


def encode_uniform(changes: Sequence[Change]) -> bytes | None:
    """`changes` as a batch stores them (each one's canonical JSON and a line break), filled
    into the first one's template, if all but their keys and reasons are the first one's;
    None if they are not (or there are fewer than two)."""
    if len(changes) < 2:
        return None
    first = changes[0]
    if not (_text_only(first.before) and _text_only(first.after)
            and (first.list_name is None or type(first.list_name) is str)):
        return None
    parts = _template(first)
    if parts is None:
        return None
    # A value equal to the first's text (or None) is written as that text is: a change made
    # in code holds text where it holds values (a `str` subclass that compares equal to
    # other text is not one); a reason must be text to be written by `dumps` alone.
    op, obj, list_name, before, after = (first.op, first.object, first.list_name,
                                         first.before, first.after)
    if not all(c.op == op and c.object == obj and c.list_name == list_name
               and c.before == before and c.after == after and type(c.reason) is str
               for c in changes):
        return None
    head, middle, tail = parts
    tail += b"\n"
    dumps = orjson.dumps
    return b"".join([head + dumps(c.key) + middle + dumps(c.reason) + tail for c in changes])


def decode_uniform(lines: list[bytes],
                   validate: Callable[[bytes], list[Change]]) -> Uniform | None:
    """A batch's `lines` (each a change's canonical JSON) as a `Uniform` batch if all but
    their keys and reasons are the same as the first's; None if they are not.

    `validate` reads a JSON array of changes, checking every value (pydantic)."""
    if len(lines) < 2:
        return None
    parsed = validate(b"[" + lines[0] + b"]")
    if len(parsed) != 1:
        return None
    first = parsed[0]
    parts = _template(first)
    if parts is None:
        return None
    head, middle, tail = parts
    if not (lines[1].startswith(head) and lines[1].endswith(tail)):
        return None             # the usual way out for a batch that is not uniform
    start, end = len(head), -len(tail)
    strings: list[bytes] = []
    for line in lines:
        if not (line.startswith(head) and line.endswith(tail)):
            return None
        # The middle starts `,"`, which the inside of a JSON string cannot hold (each `"`
        # in it is escaped): in a well-made line its first place ends the key. `_changes`
        # refuses the pieces of any other.
        split = line.find(middle, start)
        if split < 0:
            return None
        strings += (line[start:split], line[split + len(middle):end])
    return _changes(first, strings, len(lines))


def _text_only(values: dict[str, str | None] | None) -> bool:
    return values is None or all(type(f) is str and (v is None or type(v) is str)
                                 for f, v in values.items())


def _template(first: Change) -> tuple[bytes, bytes, bytes] | None:
    """The bytes before the key, between key and reason, and after the reason of a change
    like `first`."""
    line = replace(first, key=_KEY, reason=_REASON).canonical()
    if line.count(_KEY_JSON) != 1 or line.count(_REASON_JSON) != 1:
        return None
    head, rest = line.split(_KEY_JSON)
    middle, tail = rest.split(_REASON_JSON)
    return (head, middle, tail) if middle.startswith(b',"') else None


def _changes(first: Change, strings: list[bytes], count: int) -> Uniform | None:
    """The batch, from every line's (key, reason) as JSON; None unless each piece is one
    string written as `orjson` writes it. (Parsed as one array, and then each written back:
    broken pieces can join into strings of the right number, but never each into its own.)"""
    try:
        values = orjson.loads(b"[" + b",".join(strings) + b"]")
    except orjson.JSONDecodeError:
        return None
    if len(values) != 2 * count or not all(
            type(v) is str and orjson.dumps(v) == piece
            for v, piece in zip(values, strings, strict=True)):
        return None
    return Uniform(first, values[::2], values[1::2])
