"""Builds the app from settings, in one place: store, policy, job kinds, CRM connections."""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery

from agents.kinds import Registry
from agents.list_upload import ListUploadKind
from approvals.rollback import RollbackKind
from approvals.store import Store
from mops.settings import Settings
from tasks.celery_app import QueueSettings, make_celery
from tasks.inprocess import InProcessRunner
from tasks.jobs import Jobs
from tasks.queued import QueuedRunner
from tasks.runtime import Runtime
from tools.crm import CRM
from tools.sandbox import SandboxCRM


class UnknownTarget(LookupError):
    """No CRM connection is configured under that name."""


@dataclass
class App:
    """The assembled application: what every door works with."""

    settings: Settings
    runtime: Runtime
    jobs: Jobs
    celery: Celery | None = None        # set when MOPS_BROKER_URL sends jobs to workers

    @property
    def queued(self) -> bool:
        """Whether jobs run on workers (True) or in this process (False)."""
        return self.celery is not None

    @property
    def store(self) -> Store:
        """The job store."""
        return self.runtime.store

    def connect(self, target: str) -> CRM:
        """Open the CRM connection named `target`."""
        return self.runtime.connect(target)

    def close(self) -> None:
        """Release the store's connections."""
        self.runtime.store.close()


def build(settings: Settings | None = None) -> App:
    """Assemble the app; creates `MOPS_HOME` and migrates the store to the newest schema."""
    settings = settings or Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.store_url())
    store.upgrade()
    kinds = Registry([ListUploadKind(), RollbackKind(store)])

    def connect(name: str) -> CRM:
        if name not in settings.targets:
            raise UnknownTarget(
                f"no CRM target named {name!r} (configured: {', '.join(settings.targets)})")
        return SandboxCRM(settings.target_url(name), name=name)

    runtime = Runtime(store=store, policy=settings.approvals, kinds=kinds, connect=connect,
                      batch_size=settings.batch_size)
    if settings.broker_url is None:
        return App(settings, runtime, Jobs(runtime, InProcessRunner(runtime)))
    queue = QueueSettings(broker_url=settings.broker_url.get_secret_value(),
                          batch_lease=settings.batch_lease,
                          visibility_timeout=settings.visibility_timeout,
                          queue=settings.queue)
    celery = make_celery(queue, lambda: build(settings).runtime)
    return App(settings, runtime, Jobs(runtime, QueuedRunner(runtime, celery)), celery)
