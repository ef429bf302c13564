"""The job store: jobs and their state history, on SQLite (default) or PostgreSQL.

The schema is made and upgraded by Alembic (`approvals/migrations`). Plans, decisions and
the ledger have their own modules; they all work through a `Store`'s engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from pydantic import BaseModel
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    insert,
    select,
    text,
    update,
)

from agents.plans import Plan
from agents.requests import JobRequest
from approvals import schema as t
from approvals.errors import InvalidTransition, UnknownJob
from approvals.states import State, can_move

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x6D6F7073  # "mops": the advisory lock that serialises migrations
# Built once: every batch of a running job reads its job (see `approvals.schema.one_batch`).
_GET = select(t.jobs).where(t.jobs.c.id == bindparam("b_job"))


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


class Job(BaseModel):
    """A job as the store holds it."""

    job: int
    kind: str
    state: State
    requested_by: str
    source: str
    target: str
    params: dict[str, Any]
    digest: str | None
    rejects_digest: str | None
    summary: dict[str, int]
    fields: list[str]
    notes: list[str]
    requirement: dict[str, Any] | None
    error: str | None
    total: int
    created_at: datetime
    updated_at: datetime


class Store:
    """Access to the job store at one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Workers starting together would race to create the same tables: the
                # first migrates, the others wait here and then find nothing to do.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection in a transaction, committed on success."""
        with self.engine.begin() as conn:
            yield conn

    def create_job(self, request: JobRequest) -> int:
        """Store a new job in state `queued` and return its id."""
        at = now()
        with self.begin() as conn:
            job = conn.execute(insert(t.jobs).values(
                kind=request.kind, state="queued", requested_by=request.requested_by,
                source=request.source, target=request.target,
                params=request.params.model_dump(mode="json"), total=0,
                summary={}, fields=[], notes=[], created_at=at, updated_at=at,
            )).inserted_primary_key
            assert job is not None
            job = job[0]
            conn.execute(insert(t.transitions).values(
                job=job, from_state=None, to_state="queued", actor=request.requested_by,
                note=f"requested from {request.source}", at=at))
        return int(job)

    def get(self, job: int) -> Job:
        """The job with that id; `UnknownJob` if there is none."""
        with self.engine.connect() as conn:
            row = conn.execute(_GET, {"b_job": job}).mappings().first()
        if row is None:
            raise UnknownJob(job)
        return _job(row)

    def jobs(self, state: str | None = None, kind: str | None = None) -> list[Job]:
        """Jobs, newest first, optionally of one state or kind."""
        query = select(t.jobs).order_by(t.jobs.c.id.desc())
        if state:
            query = query.where(t.jobs.c.state == state)
        if kind:
            query = query.where(t.jobs.c.kind == kind)
        with self.engine.connect() as conn:
            return [_job(row) for row in conn.execute(query).mappings()]

    def move(self, job: int, dst: State, actor: str, note: str | None = None,
             conn: Connection | None = None, **values: Any) -> None:
        """Move a job to `dst`, recording who or what caused it; other columns may be set."""
        if conn is None:
            with self.begin() as own:
                return self.move(job, dst, actor, note, own, **values)
        src = conn.execute(
            select(t.jobs.c.state).where(t.jobs.c.id == job).with_for_update()
        ).scalar_one_or_none()
        if src is None:
            raise UnknownJob(job)
        if not can_move(src, dst):
            raise InvalidTransition(f"job {job} is {src}; it cannot become {dst}")
        at = now()
        conn.execute(update(t.jobs).where(t.jobs.c.id == job).values(
            state=dst, updated_at=at, **values))
        conn.execute(insert(t.transitions).values(
            job=job, from_state=src, to_state=dst, actor=actor, note=note, at=at))
        return None

    def record_plan(self, plan: Plan, requirement: dict[str, Any], conn: Connection) -> None:
        """Store a finished plan's header on its job."""
        conn.execute(update(t.jobs).where(t.jobs.c.id == plan.job).values(
            digest=plan.digest, rejects_digest=plan.rejects_digest, summary=plan.summary,
            fields=plan.fields, notes=plan.notes, requirement=requirement,
            total=plan.writes, updated_at=now()))

    def history(self, job: int) -> list[dict[str, Any]]:
        """The job's state transitions, oldest first."""
        query = select(t.transitions).where(t.transitions.c.job == job).order_by(
            t.transitions.c.id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def forget(self, job: int) -> None:
        """Delete a job that never got a plan (bad input): the store is left as it was."""
        with self.begin() as conn:
            for table in (t.batch_changes, t.batches, t.rejects, t.decisions, t.transitions):
                conn.execute(table.delete().where(table.c.job == job))
            conn.execute(t.jobs.delete().where(t.jobs.c.id == job))


@contextmanager
def cursor(conn: Connection) -> Iterator[Any]:
    """The DBAPI cursor of `conn`, inside whatever transaction `conn` has begun.

    The statements that touch every change (plan rows, ledger entries, the seal) run on it
    with the driver's own `executemany`: SQLAlchemy's per-row parameter and result
    processing costs more than the database's own work on those rows.
    """
    if not conn.in_transaction():
        conn.begin()         # SQLAlchemy's BEGIN, so its commit and rollback cover these rows
    cur = conn.connection.cursor()
    try:
        yield cur
    finally:
        cur.close()


def sql(conn: Connection, statement: str) -> str:
    """`statement` written with ``?`` markers and ``?json`` for a JSON value, in the
    driver's style: as is for sqlite3, ``%s`` and ``%s::json`` for psycopg."""
    return _styled(conn.dialect.paramstyle == "qmark", statement)


@lru_cache(maxsize=128)
def _styled(qmark: bool, statement: str) -> str:
    if qmark:
        return statement.replace("?json", "?")
    return statement.replace("?json", "%s::json").replace("?", "%s")


def dumps(value: object) -> str:
    """A JSON column's value as the store writes it (None is JSON ``null``, as SQLAlchemy
    writes it)."""
    return orjson.dumps(value).decode()


def loads(value: str | bytes | None) -> Any:
    """A JSON column's value read as text (select it with ``CAST(col AS TEXT)``)."""
    return None if value is None else orjson.loads(value)


def executemany(conn: Connection, statement: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run `statement` (see `sql`) once per row with the driver's executemany."""
    if rows:
        with cursor(conn) as cur:
            cur.executemany(sql(conn, statement), rows)


def insert_rows(conn: Connection, table: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]], json: Sequence[str] = ()) -> None:
    """Insert `rows` (tuples in the order of `columns`; JSON columns, named in `json`, as
    text from `dumps`): with executemany on SQLite, with COPY on PostgreSQL."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "postgresql":
        with cursor(conn) as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?json" if c in json else "?" for c in columns)
    executemany(conn, f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def fetch(conn: Connection, statement: str, params: Sequence[Any]) -> list[Any]:
    """Rows of one query (see `sql`) as the driver returns them: plain tuples."""
    with cursor(conn) as cur:
        cur.execute(sql(conn, statement), params)
        return list(cur.fetchall())


def _job(row: Any) -> Job:
    return Job(
        job=row["id"], kind=row["kind"], state=row["state"],
        requested_by=row["requested_by"], source=row["source"], target=row["target"],
        params=row["params"], digest=row["digest"], rejects_digest=row["rejects_digest"],
        summary=row["summary"] or {}, fields=row["fields"] or [], notes=row["notes"] or [],
        requirement=row["requirement"], error=row["error"], total=row["total"],
        created_at=aware(row["created_at"]), updated_at=aware(row["updated_at"]),
    )


def aware(at: datetime) -> datetime:
    """SQLite gives back naive datetimes; the store writes UTC, so say so."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    # orjson is several times faster than json for the plan and ledger columns.
    codec: dict[str, Any] = {
        "json_serializer": lambda value: orjson.dumps(value).decode(),
        "json_deserializer": orjson.loads,
    }
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **codec)
    engine = create_engine(url, connect_args={"timeout": 30}, **codec)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA wal_autocheckpoint=10000")
        cur.close()

    return engine
