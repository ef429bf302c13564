"""The conditions a `--where` expression compiles to, and the `Filter` that holds them.

Frozen dataclasses evaluated in Python over a record's fields; `str()` of each is the
canonical text the parser reads back. The semantics (trimmed, case-insensitive text;
numbers ordered as numbers; an empty field matches no comparison but `is empty`, `!=` and
`not in`) are described in `tools.where`.
"""

from __future__ import annotations

import operator
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

Record = Mapping[str, str | None]


class Condition(ABC):
    """A node of a compiled filter."""

    precedence: ClassVar[int]   # or 1, and 2, not 3, comparisons 4: when str() needs parens

    @abstractmethod
    def matches(self, record: Record) -> bool: ...

    @abstractmethod
    def reads(self) -> frozenset[str]: ...


def _text(record: Record, name: str) -> str:
    value = record.get(name)
    return value.strip() if value else ""


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,4})?")  # exponent: Decimal-safe


def _number(text: str) -> Decimal | None:
    return Decimal(text) if _NUMBER.fullmatch(text) else None


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "contains": operator.contains,
    "startswith": str.startswith,
    "endswith": str.endswith,
}
_ORDER_TESTS: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


@dataclass(frozen=True)
class Compare(Condition):
    """`field OP value`."""

    precedence: ClassVar[int] = 4
    name: str
    op: str
    value: str
    _folded: str = field(init=False, repr=False, compare=False)
    _number: Decimal | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_folded", self.value.casefold())
        object.__setattr__(self, "_number", _number(self.value))

    def matches(self, record: Record) -> bool:
        actual = _text(record, self.name)
        if not actual:
            return self.op == "!="
        if self.op in _STRING_TESTS:
            return _STRING_TESTS[self.op](actual.casefold(), self._folded)
        return _ORDER_TESTS[self.op](self._order(actual), 0)

    def _order(self, actual: str) -> int:
        """-1, 0 or 1 as `actual` sorts before, with or after the value."""
        if self._number is not None and (number := _number(actual)) is not None:
            return (number > self._number) - (number < self._number)
        folded = actual.casefold()
        return (folded > self._folded) - (folded < self._folded)

    def reads(self) -> frozenset[str]:
        return frozenset((self.name,))

    def __str__(self) -> str:
        return f"{self.name} {self.op} {_quote(self.value)}"


@dataclass(frozen=True)
class IsEmpty(Condition):
    """`field is [not] empty`."""

    precedence: ClassVar[int] = 4
    name: str
    negated: bool = False

    def matches(self, record: Record) -> bool:
        return bool(_text(record, self.name)) == self.negated

    def reads(self) -> frozenset[str]:
        return frozenset((self.name,))

    def __str__(self) -> str:
        return f"{self.name} is {'not ' if self.negated else ''}empty"


@dataclass(frozen=True)
class In(Condition):
    """`field [not] in (value, …)`."""

    precedence: ClassVar[int] = 4
    name: str
    values: tuple[str, ...]
    negated: bool = False
    _folded: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_folded", frozenset(v.casefold() for v in self.values))

    def matches(self, record: Record) -> bool:
        actual = _text(record, self.name)
        if not actual:
            return self.negated
        return (actual.casefold() in self._folded) != self.negated

    def reads(self) -> frozenset[str]:
        return frozenset((self.name,))

    def __str__(self) -> str:
        values = ", ".join(_quote(v) for v in self.values)
        return f"{self.name} {'not ' if self.negated else ''}in ({values})"


def _wrapped(condition: Condition, precedence: int) -> str:
    return f"({condition})" if condition.precedence < precedence else str(condition)


@dataclass(frozen=True)
class Not(Condition):
    precedence: ClassVar[int] = 3
    operand: Condition

    def matches(self, record: Record) -> bool:
        return not self.operand.matches(record)

    def reads(self) -> frozenset[str]:
        return self.operand.reads()

    def __str__(self) -> str:
        return f"not {_wrapped(self.operand, self.precedence)}"


@dataclass(frozen=True)
class And(Condition):
    precedence: ClassVar[int] = 2
    operands: tuple[Condition, ...]

    def matches(self, record: Record) -> bool:
        return all(c.matches(record) for c in self.operands)

    def reads(self) -> frozenset[str]:
        return frozenset().union(*(c.reads() for c in self.operands))

    def __str__(self) -> str:
        return " and ".join(_wrapped(c, self.precedence + 1) for c in self.operands)


@dataclass(frozen=True)
class Or(Condition):
    precedence: ClassVar[int] = 1
    operands: tuple[Condition, ...]

    def matches(self, record: Record) -> bool:
        return any(c.matches(record) for c in self.operands)

    def reads(self) -> frozenset[str]:
        return frozenset().union(*(c.reads() for c in self.operands))

    def __str__(self) -> str:
        return " or ".join(_wrapped(c, self.precedence + 1) for c in self.operands)


@dataclass(frozen=True)
class Filter:
    """A compiled `--where` expression. `str()` is its canonical text (stable, for plans)."""

    root: Condition
    fields: frozenset[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", self.root.reads())

    def matches(self, record: Record) -> bool:
        """True if `record` (field name → value; None or "" is empty) passes the filter."""
        return self.root.matches(record)

    def __str__(self) -> str:
        return str(self.root)
