"""Plain-English conditions → an expression in the `tools.where` language.

    "with no country"                 → country is empty
    "have a phone"                    → phone is not empty
    "where utm_campaign is expo-26"   → utm_campaign = expo-26
    "lead source starts with 'Web'"   → lead_source startswith Web
    "in Germany", "from DE"           → country = DE
    "where country is empty and phone startswith "+49""  (the language itself) as typed

Conditions are joined by "and" (or nothing) and "or". A country is written as its ISO code,
as contacts hold it (`tools.normalize.normalize_country`); a name that is not a country is
an error, not a guess. The result always passes `tools.where.parse_where`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.intents.clause import Clause
from agents.intents.vocabulary import ARTICLES, NOISE
from tools.errors import InputError
from tools.normalize import normalize_country
from tools.where import parse_where

# Words that may open a condition without meaning anything themselves.
_LEADS = frozenset({"where", "whose", "who", "which", "that", "contacts", "is", "there", "do",
                    "we", "the", "all", "our", "only", "for", "if", "when", "and"})
# Words that end a value typed without quotes.
_STOPS = frozenset({"and", "or", "then", "for", "where", "whose", "who", "that", "has", "no",
                    "using", "overwrite", "keep", "in", "from", "by", "please", "thanks"})
# Words that open a run of conditions: "for contacts with…", "where…", "in Germany".
OPENERS = ("for", "where", "whose", "who", "that", "no", "has", "in", "from", "if", "when",
           "only")
_OPS = {"is": "=", "is_not": "!=", "contains": "contains", "startswith": "startswith",
        "endswith": "endswith"}
_BARE = re.compile(r"[\w.@+\-]+")
_KEYWORDS = frozenset({"and", "or", "not", "is", "in", "empty"})


class ConditionError(ValueError):
    """A condition that was recognised but cannot be written (e.g. an unknown country)."""


@dataclass(frozen=True)
class Conditions:
    """The `where` text read from lexemes `start` to `end` (exclusive); None if none."""

    where: str | None
    start: int
    end: int


def read_filters(clause: Clause) -> str | None:
    """Every run of conditions left unused in the clause, joined by "and"; None if none.

    Raises ConditionError for a condition that cannot be written.
    """
    parts: list[str] = []
    for i in list(clause.free()):
        lexeme = clause.lex[i]
        if i in clause.used or not (lexeme.is_(*OPENERS) or lexeme.kind == "field"):
            continue
        if (found := read_filter(clause, i)) is not None:
            parts.append(found)
    if len(parts) > 1:
        parts = [f"({p})" if " or " in p else p for p in parts]
    return " and ".join(parts) or None


def read_filter(clause: Clause, start: int) -> str | None:
    """The conditions from `start` (up to the first used lexeme): read as plain English,
    or, after "where", as an expression of the where language typed as it is."""
    stop = _stop(clause, start + 1, None)
    before = set(clause.used)
    failure: ConditionError | None = None
    try:
        found = read_conditions(clause, start, stop).where
    except ConditionError as error:
        found, failure = None, error
    complete = failure is None and all(
        i in clause.used or not clause.meaningful(i) for i in range(start, stop))
    if complete or not clause.lex[start].is_("where"):
        if failure is not None:
            raise failure
        return found
    clause.used = before
    if (raw := raw_where(clause, start + 1, stop)) is not None:
        clause.use(start)
        return raw
    if failure is not None:
        raise failure
    return read_conditions(clause, start, stop).where


def read_conditions(clause: Clause, start: int, stop: int | None = None) -> Conditions:
    """Read conditions from lexeme `start`, up to `stop` or the first used lexeme.

    Marks what it reads as used. Raises ConditionError for a condition it cannot write.
    """
    stop = _stop(clause, start, stop)
    reader = _Reader(clause, stop)
    text = reader.any_of(start)
    if text is None:
        return Conditions(None, start, start)
    clause.use(*range(start, reader.pos))
    try:
        parse_where(text)
    except InputError as error:
        raise ConditionError(f"{text!r} is not a filter I can use: {error}") from None
    return Conditions(text, start, reader.pos)


def raw_where(clause: Clause, start: int, stop: int | None = None) -> str | None:
    """The text from `start` to `stop` if it is an expression in the where language as
    typed (parentheses, `in (…)` lists); marks it used."""
    stop = _stop(clause, start, stop)
    if stop <= start:
        return None
    text = clause.raw(start, stop - 1)
    try:
        parse_where(text)
    except InputError:
        return None
    clause.use(*range(start, stop))
    return text


def read_value(clause: Clause, i: int, stop: int | None = None) -> tuple[str | None, int]:
    """A value from lexeme `i`: a quoted name, or words up to a cue word or punctuation.
    Returns the value as typed (None if there is none) and the index after it."""
    stop = _stop(clause, i, stop)
    lex = clause.lex
    if i < stop and lex[i].kind == "quoted":
        return lex[i].value, i + 1
    j = i
    while j < stop and lex[j].kind not in ("punct", "op", "file", "quoted") \
            and not lex[j].is_(*_STOPS):
        j += 1
    return (clause.raw(i, j - 1), j) if j > i else (None, i)


def _stop(clause: Clause, start: int, stop: int | None) -> int:
    end = len(clause) if stop is None else stop
    return next((i for i in range(start, end) if i in clause.used), end)


class _Reader:
    """A recursive-descent reader over the lexemes of a clause, from `pos` to `stop`."""

    def __init__(self, clause: Clause, stop: int) -> None:
        self.clause, self.stop, self.pos = clause, stop, 0

    def _at(self, i: int, *values: str) -> bool:
        return i < self.stop and self.clause.lex[i].is_(*values)

    def any_of(self, start: int) -> str | None:
        """Conditions joined by "or"; "and" binds tighter, as in the where language."""
        first = self.all_of(start)
        if first is None:
            return None
        parts = [first]
        while self._at(self.pos, "or"):
            saved = self.pos
            nxt = self.all_of(self.pos + 1)
            if nxt is None:
                self.pos = saved
                break
            parts.append(nxt)
        return " or ".join(parts)

    def all_of(self, start: int) -> str | None:
        first = self.one(start)
        if first is None:
            return None
        parts = [first]
        while True:
            saved = self.pos
            nxt = self.one(self.pos)
            if nxt is None:
                self.pos = saved
                break
            parts.append(nxt)
        return " and ".join(parts)

    def one(self, i: int) -> str | None:
        """One condition from `i` (leading filler skipped); sets `pos` past it."""
        lex = self.clause.lex
        while i < self.stop and lex[i].is_(*_LEADS):
            i += 1
        if i >= self.stop:
            return None
        if lex[i].is_("no"):
            return self._field_then(self._articles(i + 1), "is empty")
        if lex[i].is_("has"):
            j = self._articles(i + 1)
            if self._at(j, "no"):
                return self._field_then(self._articles(j + 1), "is empty")
            if j < self.stop and lex[j].kind == "field":
                return self._compare(j) or self._done(j + 1, f"{lex[j].value} is not empty")
            return None
        if lex[i].is_("in", "from"):
            return self._country(i + 1)
        if lex[i].kind == "field":
            return self._compare(i)
        return None

    def _articles(self, i: int) -> int:
        while i < self.stop and self.clause.lex[i].is_(*ARTICLES):
            i += 1
        return i

    def _done(self, pos: int, text: str) -> str:
        self.pos = pos
        return text

    def _field_then(self, i: int, test: str) -> str | None:
        if i < self.stop and self.clause.lex[i].kind == "field":
            return self._done(i + 1, f"{self.clause.lex[i].value} {test}")
        return None

    def _compare(self, i: int) -> str | None:
        """`FIELD is empty`, `FIELD is set`, `FIELD OP VALUE`, from the field at `i`."""
        lex, field = self.clause.lex, self.clause.lex[i].value
        j = i + 1
        if self._at(j, "empty"):
            return self._done(j + 1, f"{field} is empty")
        if self._at(j, "filled"):
            return self._done(j + 1, f"{field} is not empty")
        if j < self.stop and lex[j].kind == "op":
            op = lex[j].value
        elif j < self.stop and lex[j].is_(*_OPS):
            op = _OPS[lex[j].value]
        else:
            return None
        value, end = self._value(j + 1)
        if value is None:
            return None
        return self._done(end, f"{field} {op} {_written(field, value)}")

    def _value(self, i: int) -> tuple[str | None, int]:
        return read_value(self.clause, i, self.stop)

    def _country(self, i: int) -> str | None:
        """`in Germany`, `from the UK`: the longest run of words that names a country."""
        lex = self.clause.lex
        if i < self.stop and lex[i].is_("the"):
            i += 1
        for j in range(min(self.stop, i + 4), i, -1):
            if any(x.kind not in ("word", "quoted", "field") for x in lex[i:j]):
                continue
            name = self.clause.raw(i, j - 1)
            if _looks_like_country(lex[i].value, name):
                code = normalize_country(name)
                if code is not None:
                    return self._done(j, f"country = {code}")
        return None


def _looks_like_country(first: str, name: str) -> bool:
    """Short words ("in it", "from no…") are countries only in capitals ("IT", "NO")."""
    return not (first in NOISE or first in ("no", "not")) or name.isupper()


def _written(field: str, value: str) -> str:
    if field == "country":
        code = normalize_country(value)
        if code is None:
            raise ConditionError(f"{value!r} is not a country I know")
        return code
    if _BARE.fullmatch(value) and value.casefold() not in _KEYWORDS:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
