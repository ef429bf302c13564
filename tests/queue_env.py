"""A real queue for tests: `mops worker` subprocesses on Redis, a PostgreSQL job store."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

START_REDIS = ("redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' "
               "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log")
# Fast timings so a killed worker's batch comes back in seconds, not an hour.
FAST = {"MOPS_BATCH_LEASE": "2", "MOPS_VISIBILITY_TIMEOUT": "4", "MOPS_STALL_AFTER": "2",
        "MOPS_SWEEP_EVERY": "0.5"}


def redis_db() -> int:
    """A Redis database number of our own per xdist worker (10–13)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 10 + int(worker.removeprefix("gw") or 0) % 4


def require_redis(port: int = 6379) -> None:
    """Fail (never skip) with how to start Redis if it is not answering."""
    try:
        redis.Redis(port=port, socket_connect_timeout=2).ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is not answering at 127.0.0.1:{port} ({exc}). Start it with: "
                    f"{START_REDIS}", pytrace=False)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class QueueEnv:
    """Environment for `mops` subprocesses sharing one broker, store and sandbox CRM."""

    home: Path
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def mops(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a `mops` command to its end."""
        result = subprocess.run([sys.executable, "-m", "mops", *args], env=self.env,
                                cwd=self.home, capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"mops {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def start_worker(self, concurrency: int = 1) -> subprocess.Popen[bytes]:
        """Start `mops worker` in its own process group (so it can be killed whole)."""
        log = open(self.home / f"worker{len(self.workers)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "mops", "worker", f"--concurrency={concurrency}",
             "--loglevel=INFO"], env=self.env, cwd=self.home, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.workers.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker and all its processes, as a crashing machine would."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        """Stop every worker still running."""
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()

    def logs(self) -> str:
        """Every worker's log, for failure messages."""
        return "\n".join(p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.home.glob("worker*.log")))


@contextmanager
def queue_env(tmp_path: Path, store_url: str, broker_port: int = 6379,
              **extra: str) -> Iterator[QueueEnv]:
    """A QueueEnv on its own Redis database and queue name, store and sandbox CRM."""
    require_redis(broker_port)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOPS_")}
    env |= FAST | extra | {
        "MOPS_HOME": str(home), "MOPS_DATABASE_URL": store_url,
        "MOPS_BROKER_URL": f"redis://127.0.0.1:{broker_port}/{redis_db()}",
        "MOPS_QUEUE": f"mops-test-{uuid.uuid4().hex[:8]}", "MOPS_CONFIG": str(home / "none"),
    }
    qe = QueueEnv(home, env)
    try:
        yield qe
    finally:
        qe.stop_all()


class PrivateRedis:
    """A redis-server of our own on a free port, keeping nothing on disk: it can be killed
    and restarted (losing every queued message) without touching the machine's Redis."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.proc = self._start()

    def restart(self, down_for: float = 1.0) -> None:
        """Kill the server, wait, start it again on the same port (empty)."""
        self.stop()
        time.sleep(down_for)
        self.proc = self._start()

    def stop(self) -> None:
        """Kill the server."""
        self.proc.kill()
        self.proc.wait()

    def _start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return proc
            except redis.ConnectionError:
                time.sleep(0.05)
        proc.kill()
        pytest.fail(f"could not start redis-server on port {self.port}")
