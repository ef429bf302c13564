"""`mops chat TEXT`: a request in your own words becomes a job you confirm, or an answer.

The deterministic parser (`agents.intents.parse`) reads the common phrasings with no model.
With `MOPS_LLM` set, what it does not understand goes to the read-only agent
(`agents.chat.run_agent`), which may answer from the CRM or propose a job. Either way a job
is shown (kind, parameters, how many records its plan touches) and queued only after you
confirm it (`--yes` skips the question); it then passes the gate like any other. Nothing
here writes: the agent has no write tool, and a preview plans into a sink that keeps nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from agents.intents import Proposal, Query, Question, Understood, parse
from agents.plans import Plan
from agents.requests import JobRequest
from agents.utm_fix import UtmFixParams
from mops import output
from mops.app import App
from mops.common import AsUser, Json, Wait, opened, submit
from tools.crm import CRM
from tools.readonly import read_only
from tools.sheet import Target
from tools.where import parse_where


def chat(
    text: Annotated[str, typer.Argument(help="What you want, in your own words.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Queue the job without asking.")]
    = False,
    target: Annotated[str, typer.Option(help="CRM connection to work on.")] = "sandbox",
    user: AsUser = None, as_json: Json = False, wait: Wait = False,
) -> None:
    """Ask in your own words: a job to queue (after you confirm) or a question answered.

    Examples:
      mops chat "upload expo-leads.csv to the Expo 2026 list" --as alice
      mops chat "fix the utms on our contacts using taxonomy.toml" --as alice
      mops chat "backfill country from phone for contacts with no country" --as alice
      mops chat "how many contacts have no lead source?"
    """
    from agents.chat.tools import preview_plan  # LangChain loads only for this command

    with opened(show_progress=not as_json) as app:
        crm = app.connect(target)
        try:
            understood, answer = _understand(app, text, crm)
            if isinstance(understood, Query):
                _answer_query(understood, crm, as_json)
                return
            if isinstance(understood, Question):
                _say(as_json, {"question": understood.text, "missing": understood.missing,
                               "answer": answer}, answer or understood.text)
                return
            job_target = _target_of(understood, target)
            plan = preview_plan(_read_only(app, job_target, crm), app.runtime.kinds,
                                understood.params)
        finally:
            crm.close()
        if not as_json:
            _show_proposal(understood, plan, answer)
        if not (yes or (not as_json and typer.confirm("Queue this job?", default=False))):
            _say(as_json, {"proposal": _proposal_view(understood, plan), "queued": False},
                 "not queued")
            return
        submit(app, JobRequest(params=understood.params, requested_by=app.settings.actor(user),
                               source="chat", target=job_target), as_json, wait)


def _understand(app: App, text: str, crm: CRM) -> tuple[Understood, str | None]:
    """The parser's reading of `text`; with a model, the agent's for what it cannot read."""
    understood = parse(text, known_files=lambda name: Path(name).is_file())
    if not isinstance(understood, Question) or understood.understood:
        return understood, None
    from agents.chat.loop import run_agent
    from agents.llm import model_from_env

    model = model_from_env()
    if model is None:
        return understood, None
    answer = run_agent(text, model, crm, app.runtime.kinds)
    if answer.proposal is not None:
        return answer.proposal, answer.text
    return Question(text=answer.text, understood=True), answer.text


def _answer_query(query: Query, crm: CRM, as_json: bool) -> None:
    where = parse_where(query.where) if query.where else None
    count = sum(1 for r in crm.iter_contacts()
                if where is None or where.matches({**r.fields, "email": r.key}))
    text = f"{count} contact(s)" + (f" where {where}" if where else "")
    _say(as_json, {"query": query.model_dump(), "count": count}, text)


def _target_of(proposal: Proposal, default: str) -> str:
    params = proposal.params
    return params.target(default) if isinstance(params, UtmFixParams) else default


def _read_only(app: App, job_target: str, crm: CRM) -> Target:
    """What the preview plans against: the CRM behind a read-only wrapper, or a links file
    (whose reads never create anything)."""
    if job_target == crm.name:
        return read_only(crm)
    return read_only(app.runtime.connect(job_target))


def _proposal_view(proposal: Proposal, plan: Plan) -> dict[str, Any]:
    return {"kind": proposal.params.kind, "params": proposal.params.model_dump(mode="json"),
            "explanation": proposal.explanation, "assumptions": proposal.assumptions,
            "writes": plan.writes, "summary": plan.summary, "notes": plan.notes}


def _show_proposal(proposal: Proposal, plan: Plan, answer: str | None) -> None:
    if answer:
        output.out.print(answer)
    output.out.print(f"[bold]{proposal.params.kind}[/]: {proposal.explanation}")
    for name, value in proposal.params.model_dump(exclude={"kind"}).items():
        if value not in (None, {}, [], False):
            output.out.print(f"  {name}: {value}")
    for assumption in proposal.assumptions:
        output.out.print(f"  [dim]assumed: {assumption}[/]")
    counts = ", ".join(f"{k} {v}" for k, v in plan.summary.items() if v)
    output.out.print(f"  would write {plan.writes} change(s) ({counts or 'nothing'})")
    for note in plan.notes[:5]:
        output.out.print(f"  note: {note}")


def _say(as_json: bool, document: dict[str, Any], text: str) -> None:
    if as_json:
        output.print_json(document)
    else:
        output.out.print(text)
