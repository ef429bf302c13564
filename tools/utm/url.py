"""Fixing the ``utm_*`` parameters of one URL, and nothing else, byte for byte.

The URL is worked on as a raw string, never parsed and re-serialised: the fragment starts at
the first ``#``, the query at the first ``?`` before it, pairs are split at ``&`` and a
pair's key ends at its first ``=``. Only pairs whose key is a utm parameter may be rewritten;
every other byte (scheme, host, path, other pairs, their order and encoding, empty pairs,
the fragment) comes out as it went in.

A utm key is recognised case-insensitively after percent-decoding (``UTM_Source``,
``utm%5Fsource``) and written back as its plain lower-case name. Values are compared decoded
(``%20`` and ``+`` are spaces): a value that fixing leaves alone keeps its original bytes; a
changed one is re-encoded minimally (see `encode_component`).

A parameter whose value needs a human decision (it fails the taxonomy, is empty, is not
UTF-8, or the parameter appears twice with different values) is left exactly as it is and
reported; the URL's other utm parameters are still fixed, so one unknown source does not
hold back the medium's fix (and a second run changes nothing: what was fixed stays fixed,
what needs a decision still does). Missing required parameters are reported too, since
adding a value is not ours to guess. Links that
carry no utm parameter at all are not our business: they come back unchanged with no
decisions, even if the taxonomy requires parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import unquote

from tools.utm.taxonomy import Taxonomy
from tools.utm.values import PREFIX, Fixed, NeedsDecision, check_required

# What must be percent-encoded in a query key or value; everything else is written as is.
_ESCAPES = {code: f"%{code:02X}" for code in (*range(0x21), 0x7F, *b"&#=+%")}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SPACE_IN_QUERY = re.compile(r"\s")


class UtmChange(NamedTuple):
    """One rewritten pair: the parameter, and the pair's raw text before and after."""

    param: str
    before: str
    after: str


class UtmDecision(NamedTuple):
    """What a human must decide: the parameter, its decoded value (None if none), and why."""

    param: str
    value: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class UrlFix:
    """The outcome of `fix_url`: the URL to write, what changed, and what needs a human."""

    url: str
    changes: list[UtmChange] = field(default_factory=list)
    decisions: list[UtmDecision] = field(default_factory=list)


class _Pair(NamedTuple):
    at: int             # position among the query's &-separated pairs
    key: str            # raw
    value: str          # raw ("" for a key without "=")
    decoded: str        # decoded (raw if it is not valid UTF-8)
    outcome: Fixed | NeedsDecision


def fix_url(url: str, taxonomy: Taxonomy) -> UrlFix:
    """Fix the utm parameters of `url` against `taxonomy`, leaving every other byte alone."""
    hash_at = url.find("#")
    head = url if hash_at < 0 else url[:hash_at]
    query_at = head.find("?")
    if query_at < 0:
        return UrlFix(url)
    query = head[query_at + 1:]
    if "%" not in query and "utm_" not in query.lower():
        return UrlFix(url)                          # the fast path for untagged links
    pairs = query.split("&")
    found = _utm_pairs(pairs, taxonomy)
    if not found:
        return UrlFix(url)
    problem = _not_a_url(url, query)
    if problem:
        return UrlFix(url, decisions=[UtmDecision(next(iter(found)), None, problem)])
    decisions = _value_decisions(found)
    decided = {decision.param for decision in decisions}
    present = {param: occurrences[0].decoded for param, occurrences in found.items()}
    decisions += [
        UtmDecision(param, None, "required parameter missing")
        for param in check_required(taxonomy, present) if param not in decided
    ]
    changes = _rewrite(pairs, {p: found[p] for p in found if p not in decided})
    if not changes:
        return UrlFix(url, decisions=decisions)
    fixed = head[:query_at + 1] + "&".join(pairs) + url[len(head):]
    return UrlFix(fixed, changes, decisions)


def encode_component(text: str) -> str:
    """Percent-encode what a query key or value must not hold literally, and nothing more.

    ``&``, ``#``, ``=``, ``+``, ``%``, space, control characters, and non-ASCII (as UTF-8).
    """
    encoded = text.translate(_ESCAPES)
    if encoded.isascii():
        return encoded
    return "".join(
        char if char.isascii() else "".join(f"%{byte:02X}" for byte in char.encode())
        for char in encoded
    )


def _decode(raw: str) -> str | None:
    """Percent-decode a query key or value (``+`` is a space); None if not valid UTF-8."""
    if "%" not in raw:
        return raw.replace("+", " ")
    try:
        return unquote(raw.replace("+", " "), errors="strict")
    except UnicodeDecodeError:
        return None


def _utm_pairs(pairs: list[str], taxonomy: Taxonomy) -> dict[str, list[_Pair]]:
    """The utm pairs of a query, fixed, by lower-case parameter name, in order of appearance."""
    found: dict[str, list[_Pair]] = {}
    for index, pair in enumerate(pairs):
        key, _, value = pair.partition("=")
        if key[:4].lower() != PREFIX and "%" not in key:
            continue                                # cheap: most pairs are not utm pairs
        name = _decode(key)
        key_ok = name is not None
        if name is None:                            # not UTF-8: still utm_, to report it?
            name = unquote(key.replace("+", " "), errors="replace")
        if len(name) <= len(PREFIX) or not name[:4].isascii() or name[:4].lower() != PREFIX:
            continue
        param = name.lower()
        decoded = _decode(value)
        outcome: Fixed | NeedsDecision
        if not key_ok:
            outcome = NeedsDecision(value, "parameter name is not valid UTF-8")
        elif decoded is None:
            outcome = NeedsDecision(value, "value is not valid UTF-8")
        else:
            outcome = taxonomy.rule(param).fix(decoded)
        pair_ = _Pair(index, key, value, value if decoded is None else decoded, outcome)
        found.setdefault(param, []).append(pair_)
    return found


def _not_a_url(url: str, query: str) -> str | None:
    """Why `url` is text rather than a URL we may rewrite, or None if it is a URL."""
    if _CONTROL.search(url):
        return "not a URL: contains control characters"
    if url != url.strip():
        return "not a URL: leading or trailing whitespace"
    if _SPACE_IN_QUERY.search(query):
        return "not a URL: whitespace in the query"
    return None


def _value_decisions(found: dict[str, list[_Pair]]) -> list[UtmDecision]:
    """Values that need a decision, and parameters repeated with different values."""
    decisions: list[UtmDecision] = []
    for param, occurrences in found.items():
        if len(occurrences) == 1 and isinstance(occurrences[0].outcome, Fixed):
            continue                                # the common case, kept cheap
        outcomes = dict.fromkeys(pair.outcome.value for pair in occurrences)
        decisions += [
            UtmDecision(param, pair.decoded, pair.outcome.reason)
            for pair in occurrences if isinstance(pair.outcome, NeedsDecision)
        ]
        if len(outcomes) > 1:
            values = ", ".join(repr(value) for value in outcomes)
            decisions.append(UtmDecision(
                param, None, f"appears {len(occurrences)} times with different values: {values}",
            ))
    return decisions


def _rewrite(pairs: list[str], found: dict[str, list[_Pair]]) -> list[UtmChange]:
    """Rewrite the utm pairs in `pairs` in place to their fixed form; the changes made."""
    changes: list[UtmChange] = []
    for param, occurrences in found.items():
        for pair in occurrences:
            if not isinstance(pair.outcome, Fixed):
                continue
            key = pair.key if pair.key == param else encode_component(param)
            fixed = pair.outcome.value
            value = pair.value if fixed == pair.decoded else encode_component(fixed)
            if key != pair.key or value != pair.value:
                before, pairs[pair.at] = pairs[pair.at], f"{key}={value}"
                changes.append(UtmChange(param, before, pairs[pair.at]))
    return changes
