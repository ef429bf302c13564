"""Building SOQL safely: quoted literals, and IN lists cut to fit one request's URI.

A query travels in the URL of a GET, and Salesforce refuses a request target over 16,384
bytes (414). An IN list of 200 e-mails is about 9 KB once URL-encoded, so lists are cut at
200 values or `BUDGET` encoded bytes, whichever comes first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import quote

MOST = 200
BUDGET = 9000  # URL-encoded bytes of one IN list, leaving room for the rest of the query
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
            "\f": "\\f", '"': '\\"'}


def literal(value: str) -> str:
    """`value` as a quoted SOQL string, every reserved character escaped."""
    return "'" + "".join(_ESCAPES.get(char, char) for char in value) + "'"


def in_lists(values: Iterable[str]) -> Iterator[tuple[list[str], str]]:
    """Distinct `values` in slices, each with its ``('a', 'b', ...)`` clause."""
    chunk: list[str] = []
    quoted: list[str] = []
    size = 0
    for value in dict.fromkeys(values):
        text = literal(value)
        cost = len(quote(text, safe="")) + 3
        if chunk and (len(chunk) == MOST or size + cost > BUDGET):
            yield chunk, "(" + ", ".join(quoted) + ")"
            chunk, quoted, size = [], [], 0
        chunk.append(value)
        quoted.append(text)
        size += cost
    if chunk:
        yield chunk, "(" + ", ".join(quoted) + ")"
