"""A clause of a request: its lexemes, which of them a reader has used, and what is left.

A request is split into clauses at "then", "and then", "after that", ";" and the end of a
sentence. One clause holds the job; an intent reader takes the lexemes it understands from
it (`use`), and whatever meaningful words remain are reported back, never acted on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from agents.intents.lexer import Lexeme, lex
from agents.intents.vocabulary import NOISE, VERB_INTENT

_BOUNDARIES = (("then",), ("and", "then"), ("after", "that"), ("afterwards",), ("also",),
               ("and", "also"))
_EDGES = frozenset({"and", "then", "also", "please", "thanks", "so", ",", ".", ";", ":",
                    "?", "!", "(", ")"})


class Clause:
    """The lexemes of one clause of `text`, and the set of those already understood."""

    def __init__(self, text: str, lexemes: list[Lexeme]) -> None:
        self.text = text
        self.lex = lexemes
        self.used: set[int] = set()

    def __len__(self) -> int:
        return len(self.lex)

    def raw(self, first: int, last: int) -> str:
        """The text from lexeme `first` to lexeme `last` (inclusive), as typed."""
        return self.text[self.lex[first].start:self.lex[last].end].strip()

    def use(self, *indices: int) -> None:
        self.used.update(indices)

    def free(self, start: int = 0, stop: int | None = None) -> Iterator[int]:
        """The indices of the lexemes not yet used, from `start` to before `stop`."""
        for i in range(start, len(self.lex) if stop is None else stop):
            if i not in self.used:
                yield i

    def find(self, *values: str, start: int = 0) -> int | None:
        """The first unused known word or phrase with one of `values`."""
        return next((i for i in self.free(start) if self.lex[i].is_(*values)), None)

    def of_kind(self, kind: str) -> list[int]:
        """The unused lexemes of `kind` ("file", "number", "field"…)."""
        return [i for i in self.free() if self.lex[i].kind == kind]

    def skip(self, i: int, words: Iterable[str]) -> int:
        """The first index from `i` on whose lexeme is not one of `words` (or is used)."""
        skipped = frozenset(words)
        while i < len(self.lex) and i not in self.used and self.lex[i].is_(*skipped):
            i += 1
        return i

    def at(self, i: int) -> Lexeme | None:
        """The lexeme at `i` if there is one and it is not used."""
        return self.lex[i] if 0 <= i < len(self.lex) and i not in self.used else None

    def verb(self) -> int | None:
        """The first verb that names a job this clause can be: "add" needs a file or a list
        to add to, "fix" needs utms to fix."""
        for i in self.free():
            lexeme = self.lex[i]
            if lexeme.kind != "verb":
                continue
            if lexeme.value == "add" and not (self.of_kind("file") or self.find("list")):
                continue
            if lexeme.value == "fix" and not self._mentions_utm():
                continue
            return i
        return None

    def _mentions_utm(self) -> bool:
        return any(x.is_("utm") or (x.kind == "field" and x.value.startswith("utm_"))
                   for x in self.lex)

    def meaningful(self, i: int) -> bool:
        lexeme = self.lex[i]
        return not (lexeme.kind in ("word", "punct") and lexeme.value in NOISE)

    def leftover(self) -> list[str]:
        """The runs of unused lexemes holding a meaningful word, as typed, edges trimmed."""
        runs: list[list[int]] = [[]]
        for i in range(len(self.lex)):
            if i in self.used:
                runs.append([])
            else:
                runs[-1].append(i)
        shown = []
        for run in runs:
            if not any(self.meaningful(i) for i in run):
                continue
            while self.lex[run[0]].value in _EDGES and self.lex[run[0]].kind != "quoted":
                run = run[1:]
            while self.lex[run[-1]].value in _EDGES and self.lex[run[-1]].kind != "quoted":
                run = run[:-1]
            shown.append(self.raw(run[0], run[-1]))
        return shown

    def describe(self) -> str:
        """The clause as typed."""
        return self.raw(0, len(self.lex) - 1) if self.lex else ""


def clauses(text: str) -> list[Clause]:
    """`text` split into clauses at "then", "and then", "after that", ";" and full stops."""
    lexemes = lex(text)
    parts: list[list[Lexeme]] = [[]]
    i = 0
    while i < len(lexemes):
        width = _boundary(lexemes, i)
        if width:
            parts.append([])
            i += width
            continue
        parts[-1].append(lexemes[i])
        i += 1
    return [Clause(text, part) for part in parts if part]


def _boundary(lexemes: list[Lexeme], i: int) -> int:
    lexeme = lexemes[i]
    if lexeme.kind == "punct" and lexeme.value in (";", "."):
        return 1
    for words in sorted(_BOUNDARIES, key=len, reverse=True):
        run = lexemes[i:i + len(words)]
        if len(run) == len(words) and all(x.kind == "word" and x.value == w
                                          for x, w in zip(run, words, strict=True)):
            return len(words)
    return 0


def intent_of(clause: Clause, verb: int) -> str:
    """The intent named by the verb at `verb`."""
    return VERB_INTENT[clause.lex[verb].value]
