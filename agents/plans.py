"""Plans: what a job will write, in ordered batches, bound by a digest.

A plan is stored a batch at a time, never as one document, so a million-change plan
streams: the planner hands each full batch to a `PlanSink` as soon as it is full, and the
digest is built incrementally: each batch has a sha256 over its changes' canonical JSON in
order (`encode_batch`: the very bytes the store keeps), and the plan digest is a sha256 over
the job, the batch digests in execution order and the rejects.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, TypeAdapter

from agents.uniform import Uniform, decode_uniform, encode_uniform
from tools.changes import Change, canonical_json

DIGEST_VERSION = b"mops-plan/1\n"
# Validating a batch as one list costs less than a constructor call per change.
_CHANGES = TypeAdapter(list[Change])


class Reject(BaseModel):
    """An input row the plan will not write, and why. `kind` tells rejects from duplicates."""

    model_config = ConfigDict(frozen=True)

    row: int
    reason: str
    field: str | None = None
    value: str | None = None
    kind: str = "rejected"


class BatchHeader(BaseModel):
    """One batch of a plan: batches of a lower `stage` finish before a higher stage starts."""

    model_config = ConfigDict(frozen=True)

    batch: int
    stage: int
    size: int
    digest: str


class Plan(BaseModel):
    """A plan's header: its batches, summary, notes and digest (changes are stored as rows)."""

    job: int
    kind: str
    batches: list[BatchHeader]
    summary: dict[str, int]
    fields: list[str]
    ops: list[str]
    notes: list[str]
    rejects: int
    rejects_digest: str
    digest: str

    @property
    def writes(self) -> int:
        """How many changes the plan would write."""
        return sum(b.size for b in self.batches)


class PlanSink(Protocol):
    """Where a planner's batches and rejects go as they are made (the job store).

    A batch comes as its changes and as `encoded` (`encode_batch`), the bytes its digest
    hashes."""

    def write_batch(self, job: int, header: BatchHeader, changes: list[Change],
                    encoded: bytes) -> None: ...

    def write_rejects(self, job: int, rejects: list[Reject]) -> None: ...


def encode_batch(changes: list[Change]) -> bytes:
    """A batch as the plan stores it and its digest hashes: each change's canonical JSON,
    one per line, in order (JSON strings escape line breaks, so a line is one change).
    A uniform batch is written by filling a template in (`encode_uniform`): the same bytes."""
    uniform = encode_uniform(changes)
    if uniform is not None:
        return uniform
    return b"".join([change.canonical() + b"\n" for change in changes])


def read_batch(encoded: bytes) -> list[Change] | Uniform:
    """An encoded batch, validated: as one JSON array of changes, or, where they differ
    only in key and reason, as a `Uniform` batch (`decode_uniform`)."""
    lines = encoded.rstrip(b"\n").split(b"\n") if encoded else []
    uniform = decode_uniform(lines, _CHANGES.validate_json)
    if uniform is not None:
        return uniform
    return _CHANGES.validate_json(b"[" + b",".join(lines) + b"]")


def decode_batch(encoded: bytes) -> list[Change]:
    """The changes of an encoded batch, validated (`read_batch`)."""
    batch = read_batch(encoded)
    return batch.changes() if isinstance(batch, Uniform) else batch


def batch_digest(changes: list[Change]) -> str:
    """sha256 over the canonical JSON of each change, one per line, in order."""
    return hashlib.sha256(encode_batch(changes)).hexdigest()


def plan_digest(job: int, kind: str, batches: list[BatchHeader], rejects_digest: str,
                scope: dict[str, Any] | None = None) -> str:
    """sha256 binding the job, its scope (target, parameters), its batches in execution
    order and its rejects."""
    h = hashlib.sha256(DIGEST_VERSION)
    h.update(canonical_json({"job": job, "kind": kind, "scope": scope or {}}) + b"\n")
    for header in sorted(batches, key=lambda b: (b.stage, b.batch)):
        h.update(canonical_json(header.model_dump()) + b"\n")
    h.update(rejects_digest.encode())
    return h.hexdigest()


def bind(digest: str, requirement: dict[str, Any]) -> str:
    """The digest people approve: the plan's, bound to what it needs to be approved, so
    neither can be changed without changing the digest."""
    return hashlib.sha256(digest.encode() + b"\n" + canonical_json(requirement)).hexdigest()


@dataclass
class PlanBuilder:
    """Collects a planner's changes into batches per stage and streams them to a sink."""

    job: int
    kind: str
    sink: PlanSink
    batch_size: int = 1000
    scope: dict[str, Any] = field(default_factory=dict)   # target and parameters
    summary: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    _pending: dict[int, list[Change]] = field(default_factory=dict)
    _batches: list[BatchHeader] = field(default_factory=list)
    _fields: set[str] = field(default_factory=set)
    _ops: set[str] = field(default_factory=set)
    # Called as the planner goes (each count, reject and stored batch): the job store renews
    # the planner's lease through it (`approvals.plan_lease.FencedSink.touch`).
    heartbeat: Callable[[], None] | None = None
    _rejects: int = 0
    _rejects_hash: hashlib._Hash = field(default_factory=hashlib.sha256)

    def add(self, stage: int, change: Change) -> None:
        """Add one change to the open batch of `stage`; a full batch goes to the sink."""
        pending = self._pending.setdefault(stage, [])
        pending.append(change)
        self._ops.add(change.op)
        self.summary[change.op if change.object != "list" else f"{change.op}_list"] += 1
        if change.after:
            self._fields.update(change.after)
        if len(pending) >= self.batch_size:
            self._flush(stage)

    def count(self, what: str, n: int = 1) -> None:
        """Count something that is not a write (unchanged rows, duplicates, …)."""
        self.summary[what] += n
        if self.heartbeat:
            self.heartbeat()

    def reject(self, rejects: list[Reject]) -> None:
        """Record rows the plan will not write; each is counted by its kind. (A planner may
        call this with none, as a sign of life between writes.)"""
        if self.heartbeat:
            self.heartbeat()
        if not rejects:
            return
        for r in rejects:
            self.summary[r.kind] += 1
            self._rejects_hash.update(canonical_json(r.model_dump()) + b"\n")
        self._rejects += len(rejects)
        self.sink.write_rejects(self.job, rejects)

    def finish(self) -> Plan:
        """Flush open batches and return the plan header with its digest."""
        for stage in sorted(self._pending):
            self._flush(stage)
        rejects_digest = self._rejects_hash.hexdigest()
        digest = plan_digest(self.job, self.kind, self._batches, rejects_digest, self.scope)
        batches = sorted(self._batches, key=lambda b: (b.stage, b.batch))
        return Plan(
            job=self.job, kind=self.kind, batches=batches, summary=dict(self.summary),
            fields=sorted(self._fields - {"member", "name"}), ops=sorted(self._ops),
            notes=self.notes,
            rejects=self._rejects, rejects_digest=rejects_digest, digest=digest,
        )

    def _flush(self, stage: int) -> None:
        changes = self._pending.pop(stage, [])
        if self.heartbeat:
            self.heartbeat()
        if not changes:
            return
        encoded = encode_batch(changes)
        header = BatchHeader(
            batch=len(self._batches) + 1, stage=stage, size=len(changes),
            digest=hashlib.sha256(encoded).hexdigest(),
        )
        self._batches.append(header)
        self.sink.write_batch(self.job, header, changes, encoded)
