"""The job store's tables (SQLAlchemy Core). Alembic migrations in `approvals/migrations`
create them; this module is the one description both the code and the migrations read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
)
from sqlalchemy.sql.elements import ColumnElement

metadata = MetaData()

jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("state", String(32), nullable=False, index=True),
    Column("requested_by", String(200), nullable=False),
    Column("source", String(16), nullable=False),
    Column("target", Text, nullable=False),   # a links file: a URI of two paths
    Column("params", JSON, nullable=False),
    Column("digest", String(64)),
    Column("rejects_digest", String(64)),
    Column("summary", JSON),
    Column("fields", JSON),
    Column("notes", JSON),
    Column("requirement", JSON),      # approvals needed, fixed when the plan was made
    Column("error", Text),
    Column("total", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The planner's lease while the job is planning (`approvals.plan_lease`).
    Column("plan_token", String(32)),
    Column("plan_lease_until", DateTime(timezone=True)),
    Column("plan_attempts", Integer, nullable=False, server_default="0"),
)

transitions = Table(
    "transitions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("from_state", String(32)),
    Column("to_state", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("note", Text),
    Column("at", DateTime(timezone=True), nullable=False),
)

batches = Table(
    "batches", metadata,
    Column("job", ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("batch", Integer, primary_key=True),
    Column("stage", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("state", String(16), nullable=False, default="pending"),  # pending, queued, sealed
    Column("applied", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("head", String(64)),       # the batch's chain head, once sealed
    # Once sealed: JSON {"sealed_at": ..., "failed": [[seq, error], ...]}, chained into
    # `head`; every other entry of the batch was applied. NULL for batches sealed before
    # migration 0008, whose entries carry their own outcome.
    Column("outcome", Text),
    Column("dispatched_at", DateTime(timezone=True)),  # when its task was last sent
    Column("lease_until", DateTime(timezone=True)),    # a worker is running it until then
    Column("lease_token", String(32)),                 # whose lease: only it may seal
)

# A batch's changes as `agents.plans.encode_batch` encodes them: the bytes its digest hashes.
# (Apart from `batches`, whose rows are updated as the batch runs.)
batch_changes = Table(
    "batch_changes", metadata,
    Column("job", ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("batch", Integer, primary_key=True),
    Column("changes", LargeBinary, nullable=False),
)

rejects = Table(
    "rejects", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("job", ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("row", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("field", String(64)),
    Column("value", Text),
    Column("reason", Text, nullable=False),
)

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("verdict", String(16), nullable=False),   # approve, reject
    Column("digest", String(64), nullable=False),
    Column("comment", Text),
    Column("door", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

ledger = Table(
    "ledger", metadata,
    Column("job", Integer, primary_key=True),        # no FK: the log outlives nothing
    Column("batch", Integer, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("op", String(16), nullable=False),
    Column("object", String(32), nullable=False),
    Column("key", String(320), nullable=False),
    Column("list_name", String(200)),
    Column("before", JSON),
    Column("after", JSON),
    # As written ahead: intended (the outcome is the batch's). Batches sealed before
    # migration 0008 updated it to applied or failed.
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("recorded_at", String(40), nullable=False),
    Column("prev_hash", String(64)),
    Column("hash", String(64)),
)

ledger_blocks = Table(
    "ledger_blocks", metadata,
    Column("job", Integer, primary_key=True),        # no FK, as the ledger's
    Column("batch", Integer, primary_key=True),
    # A batch's entries as written ahead, in one value: the bytes `hash` covers
    # (`approvals.ledger.encode_block`). Batches run before migration 0010 have theirs
    # in `ledger`, a row each.
    Column("entries", LargeBinary, nullable=False),
    Column("hash", String(64), nullable=False),
)

seals = Table(
    "seals", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job", Integer, nullable=False, unique=True),
    Column("head", String(64), nullable=False),      # chain of the job's batch heads
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),      # chains every sealed job in order
    Column("sealed_at", String(40), nullable=False),
)

users = Table(
    "users", metadata,
    Column("name", String(200), primary_key=True),    # normalised: stripped, lower-case
    Column("role", String(16), nullable=False),       # requester, approver, admin
    Column("slack_id", String(64), unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256; never the token
    Column("enabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
)

slack_requests = Table(
    "slack_requests", metadata,
    Column("signature", String(128), primary_key=True),   # X-Slack-Signature of one taken
    Column("stamp", BigInteger, nullable=False, index=True),  # its X-Slack-Request-Timestamp
)


def one_batch(table: Table) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The rows of `table` of one batch, for a statement built once (a statement built per
    call costs several times what running it does, and every batch runs a dozen): bound
    at execution with `batch_params`."""
    return table.c.job == bindparam("b_job"), table.c.batch == bindparam("b_batch")


def batch_params(job: int, batch: int, **more: Any) -> dict[str, Any]:
    """The parameters of a statement made with `one_batch` (and any others it binds)."""
    return {"b_job": job, "b_batch": batch, **more}
