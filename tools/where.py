"""A small, safe filter language for `mops backfill … --where EXPR`.

The text is parsed by an explicit LALR grammar (lark) and compiled into a tree of frozen
dataclasses evaluated in Python: nothing is ever `eval`-ed or sent to a database.

    expr  := or
    or    := and ("or" and)*
    and   := not ("and" not)*
    not   := "not" not | atom
    atom  := "(" expr ")" | cmp
    cmp   := FIELD OP VALUE
           | FIELD "is" ["not"] "empty"
           | FIELD ["not"] "in" "(" VALUE ("," VALUE)* ")"
    OP    := = | != | < | <= | > | >= | contains | startswith | endswith
    VALUE := 'single' or "double" quoted (a backslash escapes the next character),
             or a bare word of letters, digits and . - _ @ +; never empty, no control
             characters

Keywords and field names are case-insensitive; FIELD must be one of the fields allowed
(by default the contact fields).

Semantics. Values are compared trimmed and case-insensitively (`str.casefold`). `=`, `in`
and the text operators compare text (`utm_term = 10` does not match "10.0"); the ordering
operators compare as numbers when both sides are numbers, else as case-folded strings.
An empty field (missing, None, "" or blanks) is not a value: it matches no comparison
except `is empty`, `!=` and `not in` — "the field is not X" holds for a field that is
empty, "the field is X / contains X / is below X" does not. So `country != GB` selects
the contacts with no country too; write `country is not empty and country != GB`
to leave them out.

Errors are WhereError (an InputError) with one line naming the column (counted from 1
over the whole text) and what was expected there. Input is refused past MAX_LENGTH
characters or MAX_DEPTH levels of nested and / or / not (redundant parentheses are free).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from tools.conditions import And, Compare, Condition, Filter, In, IsEmpty, Not, Or
from tools.errors import InputError
from tools.fields import CONTACT_FIELD_NAMES

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "Condition", "Filter", "WhereError", "parse_where"]

MAX_LENGTH = 2_000   # characters of expression text
MAX_DEPTH = 32       # levels of nested and / or / not


class WhereError(InputError):
    """A `--where` expression outside the grammar; the message names the column."""

    def __init__(self, message: str, *, column: int | None = None) -> None:
        self.column = column
        where = f"--where: column {column}" if column else "--where"
        super().__init__(f"{where}: {message}")


# --- parsing ----------------------------------------------------------------------------

# Keywords are regexes with a word boundary and priority 2, so that `not` is the keyword
# but `notes` is a field, while the contextual lexer still reads `= or` as the value "or".
_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: NOT not_expr -> negation
         | atom
?atom: _LPAR or_expr _RPAR
     | comparison
comparison: FIELD OP value                                   -> compare
          | FIELD _IS [NOT] _EMPTY                           -> is_empty
          | FIELD [NOT] _IN _LPAR value (_COMMA value)* _RPAR  -> member
?value: STRING | WORD

_OR.2: /or\b/i
_AND.2: /and\b/i
NOT.2: /not\b/i
_IS.2: /is\b/i
_IN.2: /in\b/i
_EMPTY.2: /empty\b/i
OP.2: /!=|<=|>=|=|<|>/ | /(?:contains|startswith|endswith)\b/i
_LPAR: "("
_RPAR: ")"
_COMMA: ","
FIELD: /[A-Za-z_][A-Za-z0-9_]*/
STRING: /"(?:[^"\\\x00-\x1f]|\\[^\x00-\x1f])*"/ | /'(?:[^'\\\x00-\x1f]|\\[^\x00-\x1f])*'/
WORD: /[\w.@+\-]+/
%ignore /\s+/
"""

_OPERATOR_HINT = (
    "an operator (=, !=, <, <=, >, >=, contains, startswith, endswith, is [not] empty,"
    " [not] in (…))"
)
# What the user is told was expected, by terminal; listed in this order.
_EXPECTED = {
    "FIELD": "a field name", "OP": _OPERATOR_HINT, "STRING": "a value", "WORD": "a value",
    "NOT": "'not'", "_IN": "'in'", "_IS": "'is'", "_EMPTY": "'empty'", "_LPAR": "'('",
    "_COMMA": "','", "_RPAR": "')'", "_AND": "'and'", "_OR": "'or'", "$END": "end of input",
}


@functools.cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True)


def parse_where(text: str, fields: Iterable[str] = CONTACT_FIELD_NAMES) -> Filter:
    """Compile a `--where` expression over `fields`; raise WhereError for anything else."""
    if len(text) > MAX_LENGTH:
        raise WhereError(f"the expression has {len(text)} characters; at most {MAX_LENGTH}")
    if not text.strip():
        raise WhereError("empty expression; expected a condition such as: country = GB")
    known = tuple(fields)
    tree = _parse(text, known)
    _check_depth(tree)
    return Filter(_build(tree, {f.casefold(): f for f in known}))


_KEYWORDS = frozenset({"and", "or", "not", "is", "in", "empty"})


def _parse(text: str, known: tuple[str, ...]) -> Tree[Token]:
    folded = {f.casefold() for f in known}
    interactive = _parser().parse_interactive(text)
    seen: list[Token] = []      # the tokens lexed so far, for "expected X after Y"
    try:
        for token in interactive.iter_parse():
            if token.type == "FIELD" and token.value.casefold() in _KEYWORDS:
                raise _expected(_show(token.value), _column(token), seen)
            if token.type == "FIELD" and token.value.casefold() not in folded:
                raise WhereError(
                    f"unknown field {token.value!r}; known fields: {', '.join(sorted(known))}",
                    column=_column(token),
                )
            seen.append(token)
        tree: Tree[Token] = interactive.feed_token(Token("$END", "", start_pos=len(text)))
    except UnexpectedCharacters as error:
        column = (error.pos_in_stream or 0) + 1
        raise _expected(_show(error.char), column, seen) from None
    except UnexpectedToken as error:
        token = error.token
        if seen and token is seen[-1]:      # lexed, then refused by the parser
            seen.pop()
        if token.type == "$END":
            found, column = "end of input", len(text) + 1
        else:
            found, column = _show(token.value), _column(token)
        raise _expected(found, column, seen) from None
    return tree


def _accepts(seen: list[Token]) -> set[str]:
    """The terminals the parser takes after `seen`.

    Replayed on a fresh parser: after a refused token the parser may have made reductions,
    and lark's own `expected` is the LALR-merged lookahead, which names too much.
    """
    interactive = _parser().parse_interactive("")
    for token in seen:
        interactive.feed_token(token)
    return set(interactive.accepts())  # type: ignore[no-untyped-call]  # lark leaves it bare


def _column(token: Token) -> int:
    return (token.start_pos or 0) + 1


def _expected(found: str, column: int, seen: list[Token]) -> WhereError:
    wanted = _accepts(seen)
    if "OP" in wanted:      # the operator hint already names `is empty`, `not in`, `in`
        wanted -= {"NOT", "_IS", "_IN"}
    listed = list(dict.fromkeys(_EXPECTED[name] for name in _EXPECTED if name in wanted))
    if not listed:
        return WhereError(f"unexpected {found}", column=column)
    expected = ", ".join(listed[:-1]) + " or " + listed[-1] if len(listed) > 1 else listed[0]
    after = f" after {_show(seen[-1].value)}" if seen else ""
    return WhereError(f"expected {expected}{after}, found {found}", column=column)


def _show(text: str) -> str:
    """A piece of the input, quoted, on one line and short."""
    return repr(text if len(text) <= 30 else text[:27] + "...")


def _check_depth(tree: Tree[Token]) -> None:
    """Refuse deep nesting before anything recursive walks the tree."""
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            column = node.meta.column if not node.meta.empty else None
            raise WhereError(f"nested more than {MAX_DEPTH} levels deep", column=column)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _build(tree: Tree[Token], names: dict[str, str]) -> Condition:
    match tree.data:
        case "or_expr":
            return Or(_flatten(Or, [_build(c, names) for c in _trees(tree)]))
        case "and_expr":
            return And(_flatten(And, [_build(c, names) for c in _trees(tree)]))
        case "negation":
            return Not(_build(_trees(tree)[0], names))
    field_token, *rest = [c for c in tree.children if isinstance(c, Token)]
    name = names[field_token.value.casefold()]
    negated = any(t.type == "NOT" for t in rest)
    match tree.data:
        case "compare":
            return Compare(name, rest[0].value.lower(), _value(rest[1]))
        case "is_empty":
            return IsEmpty(name, negated)
        case "member":
            return In(name, tuple(_value(t) for t in rest if t.type != "NOT"), negated)
    raise AssertionError(f"unexpected node {tree.data!r}")  # the grammar makes no other


def _trees(tree: Tree[Token]) -> list[Tree[Token]]:
    return [c for c in tree.children if isinstance(c, Tree)]


def _flatten(kind: type[And] | type[Or], operands: list[Condition]) -> tuple[Condition, ...]:
    """`a and (b and c)` is `a and b and c`: one shape per meaning keeps str() canonical."""
    flat: list[Condition] = []
    for operand in operands:
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    return tuple(flat)


def _value(token: Token) -> str:
    text = token.value
    if token.type == "STRING":
        text = re.sub(r"\\(.)", r"\1", text[1:-1]).strip()
    if not text:
        raise WhereError(
            "an empty value never matches; to select empty fields write: FIELD is empty",
            column=_column(token),
        )
    return str(text)
