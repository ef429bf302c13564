"""The production path for real: `mops` → Redis → `mops worker` processes → PostgreSQL.

Workers are subprocesses; they are killed with SIGKILL and Redis is restarted under them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg import throwaway_database
from tests.queue_env import PrivateRedis, QueueEnv, queue_env
from tools.fakes.ratelimited_target import max_in_window
from tools.sandbox import SandboxCRM

pytestmark = pytest.mark.postgres


@pytest.fixture
def store_url() -> Iterator[str]:
    with throwaway_database("mops_test_queue") as url:
        yield url


def _leads(path: Path, n: int) -> Path:
    path.write_text("email,firstname\n" + "".join(f"w{i}@example.com,W{i}\n" for i in range(n)))
    return path


def _job(qe: QueueEnv, job: int) -> dict:  # type: ignore[type-arg]
    return json.loads(qe.mops("show", str(job), "--json", "--limit", "0").stdout)


def _wait(qe: QueueEnv, job: int, until: object, timeout: float = 120) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = _job(qe, job)
        if until(view):  # type: ignore[operator]
            return view
        time.sleep(0.3)
    raise AssertionError(f"job {job} stuck: {_job(qe, job)}\n{qe.logs()}")


def _check_exactly_once(qe: QueueEnv, job: int, rows: int) -> None:
    view = _job(qe, job)
    assert view["state"] == "succeeded", (view, qe.logs())
    assert view["progress"] == {"applied": 2 * rows + 1, "failed": 0, "total": 2 * rows + 1}
    contacts = qe.mops("crm", "export").stdout.splitlines()
    assert len(contacts) == rows == len(set(contacts))
    members = qe.mops("crm", "export", "--object", "list_membership", "--format",
                      "csv").stdout.splitlines()
    assert len(members) == rows + 1
    writes = [e for e in json.loads(qe.mops("log", str(job), "--json").stdout)
              if e["type"] == "write"]
    assert len(writes) == 2 * rows + 1                       # one ledger entry per change
    assert {e["status"] for e in writes} == {"applied"}
    assert len({(e["batch"], e["seq"]) for e in writes}) == len(writes)
    assert json.loads(qe.mops("log", "--verify", "--json").stdout)["ok"]


def _slow_target(qe: QueueEnv) -> None:
    (qe.home / "mops.toml").write_text(
        "[targets.sandbox]\nrate_limit = { requests = 25, per_seconds = 1.0 }\n")
    qe.env["MOPS_CONFIG"] = str(qe.home / "mops.toml")


def test_a_job_flows_through_redis_to_a_worker(tmp_path: Path, store_url: str) -> None:
    with queue_env(tmp_path, store_url) as qe:
        qe.start_worker(concurrency=2)
        leads = _leads(tmp_path / "leads.csv", 300)
        queued = json.loads(qe.mops("upload", str(leads), "--list", "Q", "--as", "alice",
                                    "--json").stdout)
        assert queued["state"] in ("queued", "planning", "awaiting_approval")
        _wait(qe, 1, lambda v: v["state"] == "awaiting_approval")
        refused = qe.mops("approve", "1", "--as", "alice", check=False)
        assert refused.returncode == 1 and "cannot approve" in refused.stderr
        done = json.loads(qe.mops("approve", "1", "--as", "bob", "--wait", "--json").stdout)
        assert done["state"] == "succeeded", qe.logs()
        _check_exactly_once(qe, 1, 300)
        qe.mops("rollback", "1", "--as", "alice", "--wait")
        assert json.loads(qe.mops("approve", "2", "--as", "bob", "--wait", "--json").stdout
                          )["state"] == "succeeded"
        assert qe.mops("crm", "export").stdout == ""


def test_a_killed_worker_is_replaced_and_each_change_applied_once(tmp_path: Path,
                                                                  store_url: str) -> None:
    rows = 4000
    with queue_env(tmp_path, store_url, MOPS_BATCH_SIZE="50") as qe:
        _slow_target(qe)                   # ~20 s of work: the kill lands mid-job, always
        first = qe.start_worker(concurrency=2)
        qe.mops("upload", str(_leads(tmp_path / "leads.csv", rows)), "--list", "Q",
                "--as", "alice", "--wait")
        qe.mops("approve", "1", "--as", "bob")
        mid = _wait(qe, 1, lambda v: v["progress"]["applied"] >= 400, timeout=60)
        qe.kill(first)                                        # SIGKILL, mid-job
        stopped = _job(qe, 1)
        assert stopped["state"] == "running"
        assert mid["progress"]["applied"] <= stopped["progress"]["applied"] < 2 * rows + 1
        qe.start_worker(concurrency=2)
        _wait(qe, 1, lambda v: v["state"] not in ("running", "approved"), timeout=120)
        _check_exactly_once(qe, 1, rows)


def test_the_job_finishes_after_redis_restarts(tmp_path: Path, store_url: str) -> None:
    rows = 4000
    broker = PrivateRedis()
    try:
        with queue_env(tmp_path, store_url, broker_port=broker.port,
                       MOPS_BATCH_SIZE="50") as qe:
            _slow_target(qe)          # its shared rate limit lives in the Redis that restarts
            qe.start_worker(concurrency=2)
            qe.mops("upload", str(_leads(tmp_path / "leads.csv", rows)), "--list", "Q",
                    "--as", "alice", "--wait")
            qe.mops("approve", "1", "--as", "bob")
            _wait(qe, 1, lambda v: v["progress"]["applied"] >= 400, timeout=60)
            broker.restart(down_for=1.0)                      # every queued message is lost
            assert _job(qe, 1)["progress"]["applied"] < 2 * rows + 1
            _wait(qe, 1, lambda v: v["state"] not in ("running", "approved"), timeout=120)
            _check_exactly_once(qe, 1, rows)
    finally:
        broker.stop()


def test_two_workers_never_exceed_the_targets_rate_limit(tmp_path: Path,
                                                         store_url: str) -> None:
    limit, rows = 10, 400
    with queue_env(tmp_path, store_url, MOPS_BATCH_SIZE="40") as qe:
        (qe.home / "mops.toml").write_text(
            "[targets.sandbox]\nrecord_calls = true\n"
            f"rate_limit = {{ requests = {limit}, per_seconds = 1.0 }}\n")
        qe.env["MOPS_CONFIG"] = str(qe.home / "mops.toml")
        qe.start_worker(concurrency=2)
        qe.start_worker(concurrency=2)
        qe.mops("upload", str(_leads(tmp_path / "leads.csv", rows)), "--list", "Q",
                "--as", "alice", "--wait")
        qe.mops("approve", "1", "--as", "bob", "--wait")
        _check_exactly_once(qe, 1, rows)
        crm = SandboxCRM(f"sqlite:///{qe.home / 'sandbox.db'}")
        arrivals = [at for at, _ in crm.calls()]
        crm.close()
    assert len(arrivals) > 3 * limit                     # long enough to mean something
    assert max_in_window(arrivals, 1.0) <= limit         # measured at the target
    busy = [log for log in sorted(qe.home.glob("worker*.log"))
            if "mops.execute_batch" in log.read_text()]
    assert len(busy) == 2                                # both workers shared the work
