"""The words the intent parser knows: verbs, field names, cue words, fillers, misspellings.

Words are folded to one canonical spelling in three steps: the SPELLINGS table (synonyms
and misspellings too short or too odd for fuzzy matching), then a fuzzy match against the
known words (difflib, words of five letters or more), then PHRASES, which turn runs of
words ("roll back", "lead source", "even if set") into one lexeme.
"""

from __future__ import annotations

import difflib
import functools
from typing import Literal

from tools.fields import CONTACT_FIELD_NAMES

Kind = Literal["verb", "field", "word"]

# What each verb asks for: the key of the intent that reads the rest of the clause.
VERB_INTENT = {
    "upload": "upload", "add": "upload",
    "fix": "utm_fix",
    "backfill": "backfill", "set": "backfill", "copy": "backfill",
    "rollback": "rollback",
    "count": "count",
}

_VERBS: dict[str, tuple[str, ...]] = {
    "upload": ("upload", "import", "load", "put", "push"),
    "add": ("add",),
    "fix": ("fix", "fix up", "clean", "clean up", "tidy", "tidy up", "normalise", "normalize",
            "correct", "repair", "standardise", "standardize"),
    "backfill": ("backfill", "back fill", "fill", "fill in", "fill out", "populate", "derive",
                 "enrich"),
    "set": ("set",),
    "copy": ("copy",),
    "rollback": ("rollback", "roll back", "undo", "revert", "reverse"),
    "count": ("how many", "count", "number of", "total number of"),
}

# Other words and phrases, by the canonical word they stand for.
_WORDS: dict[str, tuple[str, ...]] = {
    "utm": ("utm", "utms", "utm parameters", "utm params", "utm tags", "utm codes",
            "utm fields", "utm values", "utm links", "utm data", "tracking parameters"),
    "overwrite": ("overwrite", "overwriting", "even if set", "even if already set",
                  "even if filled", "even when set", "even if not empty", "even if present",
                  "replace existing", "replacing existing", "replace existing values",
                  "replacing existing values", "overwrite existing", "force"),
    "keep": ("keep existing", "do not overwrite", "without overwriting", "only if empty",
             "only empty", "only when empty", "where empty"),
    "no": ("no", "without", "missing", "lacking", "do not have", "does not have",
           "have no", "has no", "with no"),
    "has": ("has", "have", "having", "with"),
    "startswith": ("startswith", "starts with", "begins with", "start with", "starting with",
                   "beginning with"),
    "endswith": ("endswith", "ends with", "end with", "ending with", "ending in"),
    "contains": ("contains", "includes", "contain"),
    "is_not": ("is not", "isn't", "are not", "does not equal", "not equal to"),
    "is": ("is", "are", "equals", "is equal to", "equal to"),
    "empty": ("empty", "blank", "unset", "null", "not set", "not filled", "is empty",
              "is blank", "is missing", "is unset", "is null", "is not set", "are empty",
              "are missing", "are not set"),
    "filled": ("filled", "filled in", "present", "not empty", "not blank", "is set",
               "is filled", "is present", "is not empty", "is not blank", "are set",
               "are not empty"),
    "contacts": ("contacts", "contact", "people", "persons", "leads", "records", "folks",
                 "everyone", "everybody"),
    "list": ("list", "lists", "lsit", "lst", "static list"),
    "named": ("named", "called", "titled"),
    "write": ("write", "write to", "save", "save to", "save as", "output", "out"),
    "using": ("using", "use", "with taxonomy", "per", "according to", "against"),
    "number": ("number", "no.", "nr", "num", "id"),
}

# Each contact field by the ways people say it.
_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "e-mail address", "mail", "emails"),
    "firstname": ("first name", "firstname", "given name", "first_name", "forename"),
    "lastname": ("last name", "lastname", "surname", "family name", "last_name"),
    "company": ("company", "company name", "companies", "organisation", "organization",
                "employer"),
    "jobtitle": ("job title", "jobtitle", "title", "job_title", "job titles"),
    "phone": ("phone", "phone number", "phones", "telephone", "mobile", "phone numbers"),
    "country": ("country", "countries"),
    "city": ("city", "cities", "town"),
    "website": ("website", "web site", "websites", "homepage"),
    "lead_source": ("lead source", "leadsource", "lead sources", "lead-source"),
    **{name: (name, name.replace("_", " "), name.replace("_", "-"))
       for name in CONTACT_FIELD_NAMES if name.startswith("utm_")},
}

# Misspellings and variants that fuzzy matching does not reach (short, or odd).
SPELLINGS = {
    "pls": "please", "plz": "please", "plse": "please", "thx": "thanks", "ty": "thanks",
    "cn": "can", "u": "you", "ur": "your", "cud": "could",
    "utm's": "utms", "utm’s": "utms", "u.t.m.": "utm", "utm-s": "utms",
    "cntacts": "contacts", "contcts": "contacts", "contatcs": "contacts", "ppl": "people",
    "uplod": "upload", "upld": "upload", "uplaod": "upload", "imprt": "import",
    "backfil": "backfill", "bakfill": "backfill", "fil": "fill", "popluate": "populate",
    "rollbak": "rollback", "rolback": "rollback", "rool": "roll", "revrt": "revert",
    "fxi": "fix", "fixx": "fix", "cnt": "count", "hw": "how", "mny": "many", "mani": "many",
    "taxnomy": "taxonomy", "taxonmy": "taxonomy", "don't": "do not", "dont": "do not",
    "doesn't": "does not", "isnt": "isn't", "w/": "with", "w/o": "without",
    "contry": "country", "cntry": "country", "e-mails": "emails", "tel": "phone",
}

# Words that carry no meaning of their own here: skipped, never reported as not understood.
NOISE = frozenset({
    "please", "kindly", "thanks", "thank", "you", "hey", "hi", "hello", "mops", "can", "could",
    "would", "will", "i", "i'd", "we", "me", "us", "want", "need", "like", "to", "for", "the",
    "a", "an", "our", "my", "your", "their", "all", "every", "each", "of", "in", "on", "at",
    "into", "onto", "file", "csv", "toml", "just", "now", "go", "ahead", "some", "these",
    "those", "them", "it", "its", "this", "that", "field", "fields", "value", "values",
    "contacts", "and", "then", "also", "do", "does", "there", "so", "ok", "okay", "taxonomy",
    "job", "number", "from", "using", "with", "has", "is", "crm", "database", "db", "system",
    "total", "altogether", "currently", "today", "column", "named", "list", "write", "via",
    "by", "as", "new", "existing", "data", "be", "should", "get", "got", "?", "!", ",", ";",
    ".", ":", "(", ")", "let's", "lets", "let", "make", "sure", "which", "who", "whose",
    "where", "what", "whats", "what's", "tell", "how", "many",
})

ARTICLES = frozenset({"the", "a", "an", "our", "my", "all", "every", "each", "any", "your",
                      "their", "of", "those", "these"})


def _table() -> dict[tuple[str, ...], tuple[Kind, str]]:
    table: dict[tuple[str, ...], tuple[Kind, str]] = {}
    groups: tuple[tuple[Kind, dict[str, tuple[str, ...]]], ...] = (
        ("word", _WORDS), ("field", _FIELDS), ("verb", _VERBS))
    for kind, group in groups:
        for value, spellings in group.items():
            for spelling in spellings:
                table[tuple(spelling.split())] = (kind, value)
    return table


PHRASES: dict[tuple[str, ...], tuple[Kind, str]] = _table()
LONGEST = max(len(words) for words in PHRASES)


_KNOWN = frozenset({w for phrase in PHRASES for w in phrase} | NOISE)


@functools.cache
def _known_words() -> tuple[str, ...]:
    words = {w for phrase in PHRASES for w in phrase} | set(NOISE) | set(SPELLINGS.values())
    return tuple(sorted(w for w in words if len(w) >= 5 and w.isalpha()))


@functools.lru_cache(maxsize=4096)
def canonical(word: str) -> str:
    """`word` (lower case) as the parser knows it: a spelling fixed, a misspelling matched."""
    word = SPELLINGS.get(word, word)
    if len(word) < 5 or not word.isalpha() or word in _KNOWN:
        return word
    close = difflib.get_close_matches(word, _known_words(), n=1, cutoff=0.8)
    return close[0] if close else word
