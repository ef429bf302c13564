"""Free text → lexemes: files, quoted names, numbers, operators, and known words and phrases.

Every lexeme keeps its place in the text, so a name is always taken as it was typed
(case, spaces and all), while the words around it are matched in their canonical form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agents.intents.vocabulary import LONGEST, PHRASES, canonical

Kind = Literal["file", "quoted", "number", "op", "punct", "verb", "field", "word"]
FILE_TYPES = (".csv", ".toml")

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "`": "'"})
_PIECE = re.compile(r"""
    "(?P<dq>[^"]*)"
  | (?<!\w)'(?P<sq>[^'\n]*)'(?!\w)
  | (?P<op>!=|<=|>=|==|=|<|>)
  | (?P<punct>[,;!?()])
  | (?P<word>[^\s"=<>!,;?()]+)
""", re.VERBOSE)
_NUMBER = re.compile(r"#?(\d{1,18})")


@dataclass(frozen=True)
class Lexeme:
    """One piece of the text: its kind, its canonical value, and where it was typed."""

    kind: Kind
    value: str
    start: int
    end: int

    def is_(self, *values: str) -> bool:
        """True for a known word or phrase (not a name, file or number) with one of `values`."""
        return self.kind in ("word", "verb", "field") and self.value in values


def lex(text: str) -> list[Lexeme]:
    """The lexemes of `text`, in order, with runs of words folded into known phrases."""
    text = text.translate(_QUOTES)
    pieces: list[Lexeme] = []
    for match in _PIECE.finditer(text):
        pieces.extend(_piece(match))
    return _phrases(pieces)


def _piece(match: re.Match[str]) -> list[Lexeme]:
    start, end = match.span()
    for group in ("dq", "sq"):
        if (quoted := match.group(group)) is not None:
            kind: Kind = "file" if _is_file(quoted) else "quoted"
            return [Lexeme(kind, quoted.strip(), start, end)] if quoted.strip() else []
    if (op := match.group("op")) is not None:
        return [Lexeme("op", "=" if op == "==" else op, start, end)]
    if (punct := match.group("punct")) is not None:
        return [Lexeme("punct", punct, start, end)]
    return _word(match.group("word"), start)


def _word(word: str, start: int) -> list[Lexeme]:
    stripped = word.rstrip(".:'")
    end = start + len(stripped)
    tail = [Lexeme("punct", ".", end, end + 1)] if word[len(stripped):].startswith(".") else []
    if stripped.lower().endswith("'s"):
        stripped = stripped[:-2]
    if not stripped:
        return tail
    if _is_file(stripped):
        return [Lexeme("file", stripped, start, end), *tail]
    if number := _NUMBER.fullmatch(stripped):
        return [Lexeme("number", str(int(number.group(1))), start, end), *tail]
    words = canonical(stripped.lower()).split()
    return [*(Lexeme("word", w, start, end) for w in words), *tail]


def _is_file(text: str) -> bool:
    name = text.strip().lower()
    return any(name.endswith(t) and len(name) > len(t) for t in FILE_TYPES) and "\n" not in name


def _phrases(pieces: list[Lexeme]) -> list[Lexeme]:
    """Fold each run of words that is a known phrase, longest first, into one lexeme."""
    out: list[Lexeme] = []
    i = 0
    while i < len(pieces):
        for n in range(min(LONGEST, len(pieces) - i), 0, -1):
            run = pieces[i:i + n]
            if any(p.kind != "word" for p in run):
                continue
            known = PHRASES.get(tuple(p.value for p in run))
            if known is not None:
                out.append(Lexeme(known[0], known[1], run[0].start, run[-1].end))
                i += n
                break
        else:
            out.append(pieces[i])
            i += 1
    return out
