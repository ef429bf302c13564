"""Free text → a job proposal, a question or a count, deterministically: no model, no network.

    parse("upload expo-leads.csv to the Expo 2026 list")   → Proposal(ListUploadParams…)
    parse("upload leads.csv")                               → Question(missing=["list"])
    parse("how many contacts have no lead source?")         → Query(where="lead_source is empty")

The text is lexed (`lexer`: files, quoted names, numbers, known words with misspellings
folded), split into clauses, and the first clause with a job's verb is read by that job's
reader (`READERS`). Every proposal's params are validated and every `where` parses. Nothing
is invented: a missing file, list or source is asked for. The text is data: one job at most
comes out of it, and words the reader did not understand are shown as "ignored: …", or,
where ignoring them could make a job broader (a backfill) or an answer wrong (a count),
asked about.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.intents.clause import Clause, clauses, intent_of
from agents.intents.count import read_count
from agents.intents.draft import Draft, Read
from agents.intents.fill import read_backfill
from agents.intents.rollback import read_rollback
from agents.intents.types import Proposal, Query, Question, Understood
from agents.intents.upload import read_upload
from agents.intents.utm import read_utm_fix

MAX_LENGTH = 2000       # characters; a request is a sentence or two, not a document

Reader = Callable[[Clause, int | None], Read]
READERS: dict[str, Reader] = {
    "upload": read_upload,
    "utm_fix": read_utm_fix,
    "backfill": read_backfill,
    "rollback": read_rollback,
    "count": read_count,
}

CAN_DO = ("upload a CSV to a list ('upload leads.csv to the Expo list'), fix utms ('fix the "
          "utms in ads.csv with taxonomy.toml'), backfill a field ('backfill country from "
          "phone'), roll back a job ('roll back job 12'), count contacts ('how many contacts "
          "have no lead source?')")


def parse(text: str, *, known_files: Callable[[str], bool] | None = None) -> Understood:
    """What `text` asks for: a Proposal, a Question to ask back, or a Query to answer.

    `known_files(path)` says whether a file named in the text exists; a file it does not
    know is asked about. Never raises for any text.
    """
    if len(text) > MAX_LENGTH:
        return Question(text=f"That is too long for me ({len(text)} characters; at most "
                             f"{MAX_LENGTH}). What should I do, in a sentence?",
                        understood=False)
    parts = clauses(text)
    found = _job(parts)
    if found is None:
        return _not_understood(text)
    clause, intent, verb = found
    if verb is not None:
        clause.use(verb)
    read = READERS[intent](clause, verb)
    if isinstance(read, Question):
        return read
    others = [c for c in parts if c is not clause]
    return _finish(read, clause, others, known_files)


def _job(parts: list[Clause]) -> tuple[Clause, str, int | None] | None:
    """The first clause naming a job, the job's intent, and the verb's index."""
    for clause in parts:
        if (verb := clause.verb()) is not None:
            return clause, intent_of(clause, verb), verb
    for clause in parts:
        if (intent := _implicit(clause)) is not None:
            return clause, intent, None
    return None


def _implicit(clause: Clause) -> str | None:
    """A job said without its verb: "lead source from utm…", "leads.csv to the X list"."""
    for i, lexeme in enumerate(clause.lex[:-1]):
        if lexeme.kind == "field" and clause.lex[i + 1].is_("from"):
            return "backfill"
    if clause.find("list") is not None and any(
            x.kind == "file" and x.value.lower().endswith(".csv") for x in clause.lex):
        return "upload"
    return None


def _finish(read: Draft | Query, clause: Clause, others: list[Clause],
            known_files: Callable[[str], bool] | None) -> Understood:
    left = clause.leftover()
    ignored = [c.describe() for c in others if any(c.meaningful(i) for i in range(len(c)))]
    unsure = left + [c.describe() for c in others if c.verb() is None and _meaningful(c)]
    strict = isinstance(read, Query) or read.strict
    if strict and unsure:
        what = "; ".join(repr(u) for u in unsure)
        return Question(text=f"I understood: {read.explanation} But not {what}. Should I go "
                             "ahead as it is, or what did you mean?")
    if isinstance(read, Query):
        note = f" (Ignored: {'; '.join(ignored)}.)" if ignored else ""
        return read.model_copy(update={"explanation": read.explanation + note})
    if known_files is not None:
        for name in read.inputs:
            path = getattr(read.params, name)
            if path is not None and not known_files(path):
                return Question(text=f"I cannot find the file {path!r}. Which file did you "
                                     "mean?", missing=[name])
    notes = [f"ignored: {text}" for text in [*left, *ignored]]
    return Proposal(params=read.params, explanation=read.explanation,
                    assumptions=[*read.assumptions, *notes])


def _meaningful(clause: Clause) -> bool:
    return any(clause.meaningful(i) for i in range(len(clause)))


def _not_understood(text: str) -> Question:
    shown = " ".join(text.split())
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return Question(text=f"I did not understand {shown!r}. I can: {CAN_DO}.",
                    understood=False)
