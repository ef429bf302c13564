"""UTM fix: bring campaign links, or contacts' utm fields, in line with a team's taxonomy.

Two targets, one kind:

- `links`: a CSV of links (`column`, default `url`). The fixed copy (`out`, default
  `<name>.fixed.csv` beside the input) is the job's target, a `tools.linksheet.LinkSheet`;
  the input is never written, so a rollback restores the copy to it. Only `utm_*`
  parameters change (`tools.utm.url`).
- `object="contact"`: the `utm_*` fields of every contact, fixed in place.

A value that is neither allowed nor an alias is never guessed: it is listed in the plan's
notes as needing a decision (how many, and examples), and the rest of the plan can still be
approved. The fix is idempotent: fixing its own output plans no changes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import model_validator

from agents.kinds import PlanContext, Services
from agents.requests import FileName, OptionalFileName, Params
from agents.suggest import FuzzySuggester, Suggester
from tools.changes import Change
from tools.fields import CONTACT_FIELD_NAMES
from tools.linkfile import open_links, rows
from tools.linksheet import check_output, sheet_uri
from tools.utm.taxonomy import Taxonomy, load_taxonomy
from tools.utm.url import fix_url
from tools.utm.values import PREFIX, NeedsDecision, fix_value

UTM_FIELDS = tuple(f for f in CONTACT_FIELD_NAMES if f.startswith(PREFIX))
EXAMPLES = 3          # examples shown per value needing a decision
SHOWN = 20            # values needing a decision listed in the notes before "and N more"


class UtmFixParams(Params):
    """Fix the utm parameters of the links in `links` (written to `out`), or the utm fields
    of contacts (`object="contact"`), against the taxonomy in `taxonomy`."""

    kind: Literal["utm_fix"] = "utm_fix"
    taxonomy: FileName
    links: OptionalFileName = None
    column: str = "url"
    out: OptionalFileName = None
    object: Literal["contact"] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> UtmFixParams:
        if (self.links is None) == (self.object is None):
            raise ValueError("give either --links FILE or --object contact")
        if self.out is not None and self.links is None:
            raise ValueError("--out goes with --links")
        return self

    @property
    def output(self) -> Path:
        """Where the fixed links go: `out`, else `<name>.fixed<suffix>` beside the input."""
        if self.out is not None:
            return Path(self.out)
        source = Path(self.links or "")
        return source.with_name(f"{source.stem}.fixed{source.suffix or '.csv'}")

    def target(self, default: str) -> str:
        """The job's target: the fixed copy of the links file, or the CRM `default`."""
        if self.links is None:
            return default
        return sheet_uri(self.links, self.output, self.column)


@dataclass
class Decisions:
    """Values needing a decision, counted, with a few examples of where they are."""

    where: str                                      # "row" or "contact"
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    reasons: dict[tuple[str, str], str] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, param: str, value: str, reason: str, at: str) -> None:
        """Count one place where `param` has `value`, which the taxonomy cannot decide."""
        item = (param, value)
        self.counts[item] += 1
        self.reasons.setdefault(item, reason)
        shown = self.examples.setdefault(item, [])
        if len(shown) < EXAMPLES:
            shown.append(at)

    def notes(self) -> list[str]:
        """One line per value, most frequent first."""
        lines = []
        for (param, value), n in self.counts.most_common(SHOWN):
            places = ", ".join(self.examples[(param, value)])
            lines.append(f"needs a decision: {param} {value!r} in {n} {self.where}(s) "
                         f"(e.g. {places}): {self.reasons[(param, value)]}")
        if len(self.counts) > SHOWN:
            lines.append(f"needs a decision: {len(self.counts) - SHOWN} more value(s)")
        return lines


def _suggestions(suggester: Suggester, taxonomy: Taxonomy, decisions: Decisions) -> list[str]:
    """What the values needing a decision may be meant as: shown to the person deciding
    (who can add an alias to the taxonomy), never applied by the plan itself."""
    by_param: dict[str, list[str]] = {}
    for param, value in decisions.counts:
        by_param.setdefault(param, []).append(value)
    lines = []
    for param, values in sorted(by_param.items()):
        allowed = taxonomy.rule(param).allowed
        if not allowed:
            continue
        found = suggester.map_utm_values(param, values, list(allowed))
        lines += [f"suggested by {s.by}: {param} {value!r} may be {s.value!r} (add it as an "
                  "alias to the taxonomy to fix it)" for value, s in found.items()]
    return lines


class UtmFixKind:
    """Plans a UTM fix of a links file or of contacts."""

    name = "utm_fix"
    params = UtmFixParams

    def __init__(self, services: Services | None = None, chunk_size: int = 5000) -> None:
        self.chunk_size = chunk_size
        self.suggester = services.suggester if services else FuzzySuggester()

    def plan(self, params: UtmFixParams, ctx: PlanContext) -> None:
        """Propose the fixed value of every utm parameter the taxonomy can fix."""
        taxonomy = load_taxonomy(params.taxonomy)
        if params.links is not None:
            decisions = self._plan_links(params, taxonomy, ctx)
        else:
            decisions = self._plan_contacts(taxonomy, ctx)
        ctx.plan.count("needs_decision", sum(decisions.counts.values()))
        ctx.plan.notes.extend(decisions.notes())
        ctx.plan.notes.extend(_suggestions(self.suggester, taxonomy, decisions))

    def _plan_links(self, params: UtmFixParams, taxonomy: Taxonomy,
                    ctx: PlanContext) -> Decisions:
        source = params.links or ""
        check_output(source, params.output)
        links = open_links(source, params.column)
        decisions = Decisions("row")
        chunk: list[tuple[int, str]] = []
        for row in rows(links):
            chunk.append((row.row, row.link))
            if len(chunk) == self.chunk_size:
                self._links_chunk(chunk, links.column, taxonomy, ctx, decisions)
                chunk = []
        self._links_chunk(chunk, links.column, taxonomy, ctx, decisions)
        return decisions

    @staticmethod
    def _links_chunk(chunk: list[tuple[int, str]], column: str, taxonomy: Taxonomy,
                     ctx: PlanContext, decisions: Decisions) -> None:
        current = ctx.sheet.read_cells([str(n) for n, _ in chunk])
        for number, link in chunk:
            fix = fix_url(link, taxonomy)
            for decision in fix.decisions:
                decisions.add(decision.param, decision.value or "(missing)",
                              decision.reason, f"row {number}")
            now = current.get(str(number), {}).get(column)
            if fix.url == now:
                ctx.plan.count("unchanged")
                continue
            params = ", ".join(c.param for c in fix.changes) or "restored"
            ctx.plan.add(0, Change(op="update", object="link", key=str(number),
                                   before={column: now}, after={column: fix.url},
                                   reason=f"row {number}: {params}"))

    def _plan_contacts(self, taxonomy: Taxonomy, ctx: PlanContext) -> Decisions:
        decisions = Decisions("contact")
        for record in ctx.crm.iter_contacts():
            before: dict[str, str | None] = {}
            after: dict[str, str | None] = {}
            for name in UTM_FIELDS:
                value = record.fields.get(name)
                if not value:
                    continue
                fixed = fix_value(taxonomy, name, value)
                if isinstance(fixed, NeedsDecision):
                    decisions.add(name, value, fixed.reason, record.key)
                elif fixed.value != value:
                    before[name], after[name] = value, fixed.value
            if after:
                ctx.plan.add(0, Change(op="update", object="contact", key=record.key,
                                       before=before, after=after,
                                       reason=f"fix {', '.join(after)}"))
            else:
                ctx.plan.count("unchanged")
        return decisions
