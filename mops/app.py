"""Builds the app from settings, in one place: store, policy, job kinds, CRM connections."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial

import redis
from celery import Celery

from agents.kinds import Registry, Services
from agents.suggest import FuzzySuggester, Suggester
from approvals.store import Store
from mops.settings import Settings
from mops.targets import open_crm
from tasks.celery_app import QueueSettings, make_celery
from tasks.inprocess import Helpers, InProcessRunner
from tasks.jobs import Jobs
from tasks.queued import QueuedRunner
from tasks.runtime import Runtime
from tools.crm import CRM
from tools.linksheet import LinkSheet, is_sheet_uri
from tools.ratelimit import Limiter, LocalLimiter, NoLimit, RateLimit, RedisLimiter
from tools.sheet import Target, as_crm
from tools.spawning import default_helpers


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
        return as_crm(self.runtime.connect(target))

    def close(self) -> None:
        """Release the store's connections."""
        self.runtime.store.close()


class Limiters:
    """One limiter per target: in Redis when there is a broker (shared by every worker on
    every machine), else in this process."""

    def __init__(self, settings: Settings) -> None:
        self.settings, self._made = settings, dict[str, Limiter]()

    def get(self, name: str) -> Limiter:
        """The limiter of target `name` (no limit if it declares none)."""
        if name not in self._made:
            self._made[name] = self._make(name)
        return self._made[name]

    def _make(self, name: str) -> Limiter:
        declared = self.settings.targets[name].rate_limit
        if declared is None:
            return NoLimit()
        limit = RateLimit(requests=declared.requests, per_seconds=declared.per_seconds)
        if self.settings.broker_url is None:
            return LocalLimiter(limit)
        client = redis.Redis.from_url(self.settings.broker_url.get_secret_value())
        return RedisLimiter(client, name, limit)


def _suggester() -> Suggester:
    """Who suggests mappings in plans: the model of `MOPS_LLM`, else fuzzy matching (and no
    model library is even imported)."""
    if not os.environ.get("MOPS_LLM"):
        return FuzzySuggester()
    from agents.llm import model_from_env
    from agents.suggest_model import ModelSuggester

    model = model_from_env()
    return ModelSuggester(model) if model is not None else FuzzySuggester()


def build(settings: Settings | None = None) -> App:
    """Assemble the app; creates `MOPS_HOME` and migrates the store to the newest schema."""
    settings = settings or Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.store_url())
    store.upgrade()
    suggester = _suggester()
    kinds = Registry.discover(Services(store=store, home=settings.home, suggester=suggester,
                                       helpers=settings.helpers))

    limiters = Limiters(settings)

    def connect(name: str) -> Target:
        if is_sheet_uri(name):
            return LinkSheet(name)
        if name not in settings.targets:
            raise UnknownTarget(
                f"no CRM target named {name!r} (configured: {', '.join(settings.targets)})")
        return open_crm(name, settings, limiters.get(name))

    runtime = Runtime(store=store, policy=settings.approvals, kinds=kinds, connect=connect,
                      batch_size=settings.batch_size)
    if settings.broker_url is None:
        runner = InProcessRunner(runtime, helpers=_helpers(settings))
        return _watched(App(settings, runtime, Jobs(runtime, runner)))
    queue = QueueSettings(broker_url=settings.broker_url.get_secret_value(),
                          batch_lease=settings.batch_lease,
                          visibility_timeout=settings.visibility_timeout,
                          queue=settings.queue)
    celery = make_celery(queue, lambda: build(settings).runtime)
    return _watched(App(settings, runtime, Jobs(runtime, QueuedRunner(runtime, celery)), celery))


def runtime_of(settings: Settings) -> Runtime:
    """The runtime `build` makes (a helper process makes its own with this)."""
    return build(settings).runtime


def _helpers(settings: Settings) -> Helpers | None:
    """Helper processes for a large stage's batches (`MOPS_HELPERS`, default one per core,
    at most four), on a sandbox target only: it is a database of our own; a vendor's rate
    limit, counted in this process, would not hold across several."""
    processes = settings.helpers if settings.helpers is not None else default_helpers()
    if not processes:
        return None

    def shareable(name: str) -> bool:
        target = settings.targets.get(name)
        return (target is not None and target.kind == "sandbox" and target.rate_limit is None
                and not target.record_calls)

    return Helpers(processes, partial(runtime_of, settings), shareable)


def _watched(app: App) -> App:
    """With Slack configured, its messages follow every job (whichever door moved it)."""
    slack = app.settings.slack
    if slack.signing_secret is not None or slack.bot_token is not None:
        from mops.slack.app import watcher

        app.runtime.watchers.append(watcher(app))
    return app
