"""The SOQL the fake understands: a strict subset, enough for the adapter, and nothing more.

    SELECT COUNT() | field [, field ...]  FROM object
    [WHERE condition [AND condition ...]]  [ORDER BY field [ASC | DESC]]  [LIMIT n]

    condition := field = literal | field != literal | field IN (literal [, literal ...])
    literal   := 'quoted string' | null | true | false
    field     := Name | Parent.Name            (e.g. Contact.Email on CampaignMember)

Strings take SOQL's escapes (``\\'``, ``\\\\``, ``\\n``, ``\\uXXXX``...). Anything else (OR,
LIKE, sub-queries, functions) is a `SoqlError` with errorCode MALFORMED_QUERY; a field or
object the org lacks is INVALID_FIELD or INVALID_TYPE, as Salesforce answers them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tools.fakes.salesforce._schema import ObjectSpec, Value, object_spec

Op = Literal["=", "!=", "IN"]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    | (?P<number>\d+)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
    )""", re.VERBOSE | re.DOTALL)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f",
            '"': '"', "'": "'", "\\": "\\"}


class SoqlError(Exception):
    """A query the fake refuses, with the errorCode Salesforce would give."""

    def __init__(self, message: str, code: str = "MALFORMED_QUERY") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Condition:
    """``field op values``; `field` is canonical (``Email``, ``Contact.Email``)."""

    field: str
    op: Op
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Query:
    """A parsed query. `fields` is empty for ``SELECT COUNT()``."""

    object: ObjectSpec
    fields: tuple[str, ...]
    where: tuple[Condition, ...] = ()
    order_by: str | None = None
    descending: bool = False
    limit: int | None = None

    @property
    def counts(self) -> bool:
        """Whether this is ``SELECT COUNT()``."""
        return not self.fields


Token = tuple[str, str]  # (kind, text)


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`; an unreadable character is a MALFORMED_QUERY."""
    tokens: list[Token] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise SoqlError(f"unexpected token: '{text[pos:pos + 10].strip()}'")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def unquote(literal: str) -> str:
    """The value of a quoted SOQL string (quotes and escapes removed)."""
    out: list[str] = []
    body, i = literal[1:-1], 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1:i + 2]
        key = nxt if nxt in _ESCAPES else nxt.lower() if nxt in "NRTBF" else ""
        if key:
            out.append(_ESCAPES[key])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        else:
            raise SoqlError("Invalid string literal: Illegal character sequence "
                            f"'\\{nxt}' in string literal.")
    return "".join(out)


def parse(text: str) -> Query:
    """Parse `text` strictly into a `Query` on an object of the fake's schema."""
    return _Parser(tokenize(text)).query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise SoqlError("unexpected token: <EOF>")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].upper() == word:
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> None:
        kind, got = self.take()
        if got.upper() != text:
            raise SoqlError(f"unexpected token: '{got}'")

    def query(self) -> Query:
        self.expect("SELECT")
        names = self.select_list()
        self.expect("FROM")
        spec = object_spec(self.take()[1])
        if spec is None:
            raise SoqlError("sObject type is not supported.", "INVALID_TYPE")
        fields = tuple(_resolve(spec, name) for name in names)
        where: list[Condition] = []
        if self.keyword("WHERE"):
            where.append(self.condition(spec))
            while self.keyword("AND"):
                where.append(self.condition(spec))
        order_by, descending = None, False
        if self.keyword("ORDER"):
            self.expect("BY")
            order_by = _resolve(spec, self.take()[1])
            descending = self.keyword("DESC")
            if not descending:
                self.keyword("ASC")
        limit = None
        if self.keyword("LIMIT"):
            kind, text = self.take()
            if kind != "number":
                raise SoqlError(f"unexpected token: '{text}'")
            limit = int(text)
        if self.peek() is not None:
            raise SoqlError(f"unexpected token: '{self.take()[1]}'")
        return Query(spec, fields, tuple(where), order_by, descending, limit)

    def select_list(self) -> list[str]:
        if self.keyword("COUNT"):
            self.expect("(")
            self.expect(")")
            return []
        names = [self.field_name()]
        while self.peek() == ("punct", ","):
            self.take()
            names.append(self.field_name())
        return names

    def field_name(self) -> str:
        kind, text = self.take()
        if kind != "word" or text.upper() in ("FROM", "SELECT"):
            raise SoqlError(f"unexpected token: '{text}'")
        return text

    def condition(self, spec: ObjectSpec) -> Condition:
        name = _resolve(spec, self.field_name())
        kind, op = self.take()
        if kind == "op" and op in ("=", "!="):
            return Condition(name, op, (self.literal(),))  # type: ignore[arg-type]
        if kind == "word" and op.upper() == "IN":
            self.expect("(")
            values = [self.literal()]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(self.literal())
            self.expect(")")
            return Condition(name, "IN", tuple(values))
        raise SoqlError(f"unexpected token: '{op}'")

    def literal(self) -> Value:
        kind, text = self.take()
        if kind == "string":
            return unquote(text)
        if kind == "word" and text.lower() in ("null", "true", "false"):
            return {"null": None, "true": True, "false": False}[text.lower()]
        raise SoqlError(f"unexpected token: '{text}'")


def _resolve(spec: ObjectSpec, name: str) -> str:
    """The canonical spelling of a field (or ``Parent.Field``) of `spec`."""
    parent, _, child = name.rpartition(".")
    if parent:
        relation = next((r for r in spec.parents if r.lower() == parent.lower()), None)
        target = object_spec(relation) if relation else None
        found = target.field(child) if target else None
        if relation is None or found is None:
            raise SoqlError(_no_column(name, spec), "INVALID_FIELD")
        return f"{relation}.{found.name}"
    field = spec.field(name)
    if field is None:
        raise SoqlError(_no_column(name, spec), "INVALID_FIELD")
    return field.name


def _no_column(name: str, spec: ObjectSpec) -> str:
    return (f"No such column '{name}' on entity '{spec.name}'. If you are attempting to use a "
            "custom field, be sure to append the '__c' after the custom field name.")
