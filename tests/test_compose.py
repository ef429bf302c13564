"""docker-compose.yml, the Dockerfile and .dockerignore, checked without a Docker engine.

- the compose file is valid against the Compose Specification's JSON Schema (the copy that
  check-jsonschema ships as its builtin `vendor.compose-spec`, from the compose-spec project);
- every service command that starts with `mops` is a command path of the real CLI
  (`mops.cli.cli`), with options that command declares;
- services wait for healthy Redis and PostgreSQL and for the migration to have succeeded;
- the worker can be scaled (`--scale worker=N`);
- the image is built from python >= 3.11 and installs this project as a non-root user;
- no credential other than the compose dev default (mops/mops) appears.
"""

from __future__ import annotations

import copy
import fnmatch
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from mops.cli import cli

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PYPROJECT = ROOT / "pyproject.toml"

# The only credentials allowed in these files: the postgres service's development default.
DEV_CREDENTIALS = {("mops", "mops")}
DEV_SECRET_VALUES = {"mops"}
SECRET_NAME = re.compile(r"PASS(WORD)?|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://(?P<user>[^:/@\s]+):(?P<password>[^@/\s]+)@")

# What the compose file promises: environment of every mops container, and who waits on whom.
MOPS_ENV = {
    "MOPS_DATABASE_URL": "postgresql+psycopg://mops:mops@postgres:5432/mops",
    "MOPS_BROKER_URL": "redis://redis:6379/0",
    "MOPS_HOME": "/data",
}
HEALTHY = {"condition": "service_healthy"}
COMPLETED = {"condition": "service_completed_successfully"}
DEPENDS_ON = {
    "migrate": {"postgres": HEALTHY},
    "worker": {"redis": HEALTHY, "postgres": HEALTHY, "migrate": COMPLETED},
    "web": {"redis": HEALTHY, "postgres": HEALTHY, "migrate": COMPLETED},
    "flower": {"redis": HEALTHY},
}
# Options the mops commands must declare beyond those the compose file passes (documented,
# and what an operator adds to split workers by queue).
REQUIRED_OPTIONS = {
    ("db", "upgrade"): set(),
    ("worker",): {"--concurrency", "--queues"},
    ("serve",): {"--host", "--port"},
}


def load_compose() -> dict[str, Any]:
    """The compose file as Compose reads it (anchors, aliases and `<<` merges resolved)."""
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), "docker-compose.yml is not a mapping"
    return doc


COMPOSE_DOC = load_compose()
SERVICES: dict[str, dict[str, Any]] = COMPOSE_DOC["services"]


def argv(service: dict[str, Any]) -> list[str]:
    """A service's command as an argument list (the shell form split as a shell would)."""
    command = service.get("command")
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


MOPS_SERVICES = sorted(name for name, svc in SERVICES.items() if argv(svc)[:1] == ["mops"])


# (a) the Compose Specification ---------------------------------------------------------


def compose_validator() -> jsonschema.protocols.Validator:
    """A validator for the Compose Specification schema as check-jsonschema vendors it."""
    schema = get_builtin_schema("vendor.compose-spec")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(doc: dict[str, Any]) -> list[str]:
    errors = compose_validator().iter_errors(doc)
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                  for e in errors)


def test_the_compose_file_matches_the_compose_specification() -> None:
    assert schema_errors(COMPOSE_DOC) == []
    assert "version" not in COMPOSE_DOC, "`version:` is obsolete in the Compose Specification"
    assert any(key.startswith("x-") for key in COMPOSE_DOC), "shared settings live in x-*"


@pytest.mark.parametrize("mistake", ["condition", "typo", "ports"])
def test_the_schema_check_catches_mistakes(mistake: str) -> None:
    doc = copy.deepcopy(load_compose())
    worker = doc["services"]["worker"]
    if mistake == "condition":
        worker["depends_on"] = {"redis": {"condition": "service_ready"}}
    elif mistake == "typo":
        worker["comand"] = worker.pop("command")
    else:
        worker["ports"] = {"8000": 8000}
    assert schema_errors(doc)


# (b) every `mops ...` command exists -----------------------------------------------------


# Typer builds the command tree with its own copy of click (typer._click in recent Typer),
# so the walk goes by click's attributes, not by isinstance checks against `click`.
Command = Any


def find_option(command: Command, name: str) -> Any | None:
    for param in command.params:
        if param.param_type_name == "option" and name in (*param.opts, *param.secondary_opts):
            return param
    return None


def walk(args: list[str]) -> tuple[list[str], Command | None, str | None]:
    """Follow `mops ARGS…` through the CLI's click command tree as click would parse it.

    Returns the command path reached, the command (None where a name is unknown: the path
    then ends with that name) and the first problem found, if any.
    """
    command = typer.main.get_command(cli)
    path = ["mops"]
    rest = list(args)
    positional = 0
    while rest:
        token = rest.pop(0)
        if token.startswith("-") and token != "-":
            name, has_value, _ = token.partition("=")
            option = find_option(command, name)
            if option is None:
                return path, command, f"`{' '.join(path)}` has no option {name}"
            if not (option.is_flag or option.count or has_value):
                if len(rest) < option.nargs:
                    return path, command, f"option {name} of `{' '.join(path)}` needs a value"
                del rest[: option.nargs]
            continue
        subcommands: dict[str, Command] | None = getattr(command, "commands", None)
        if subcommands is not None:                      # a group: the token names a command
            if token not in subcommands:
                known = ", ".join(sorted(subcommands))
                return ([*path, token], None,
                        f"no command `{token}` in `{' '.join(path)}` (it has: {known})")
            command = subcommands[token]
            path.append(token)
            positional = 0
            continue
        positional += 1
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        if not any(a.nargs == -1 for a in arguments) and positional > sum(
                a.nargs for a in arguments):
            return path, command, f"`{' '.join(path)}` takes no argument {token!r}"
    if getattr(command, "commands", None) is not None:
        return path, command, f"`{' '.join(path)}` is a group: name one of its commands"
    return path, command, None


def cli_problems() -> Iterator[str]:
    """Each compose command, and each required option, the CLI does not have."""
    missing_commands: set[tuple[str, ...]] = set()
    for name in MOPS_SERVICES:
        args = argv(SERVICES[name])[1:]
        path, command, problem = walk(args)
        if problem is None:
            continue
        if command is None:
            missing_commands.add(tuple(path[1:]))
        yield f"service {name}: `{shlex.join(['mops', *args])}`: {problem}"
    for path_, options in sorted(REQUIRED_OPTIONS.items()):
        if any(path_[: len(m)] == m for m in missing_commands):
            continue                    # already reported: the command itself is missing
        _, command, problem = walk(list(path_))
        if problem is not None or command is None:
            yield f"`mops {' '.join(path_)}`: {problem}"
            continue
        for option in sorted(options):
            if find_option(command, option) is None:
                yield f"`mops {' '.join(path_)}` has no option {option}"


def test_every_mops_command_in_compose_exists_in_the_cli() -> None:
    assert {"migrate", "worker", "web"} <= set(MOPS_SERVICES)
    problems = list(cli_problems())
    assert not problems, ("docker-compose.yml runs mops commands the CLI (mops.cli.cli) "
                          "does not have:\n  " + "\n  ".join(problems))


@pytest.mark.parametrize(("args", "ok"), [
    ("sandbox seed --contacts 500", True),
    ("approve 1 --as bob --comment checked", True),
    ("log --verify", True),
    ("jobs --state=awaiting_approval --json", True),
    ("nosuch", False),
    ("sandbox", False),
    ("jobs --bogus", False),
    ("log --limit", False),
])
def test_the_cli_walk_follows_click(args: str, ok: bool) -> None:
    """The walk above accepts real commands and refuses wrong ones (today's CLI)."""
    assert (walk(shlex.split(args))[2] is None) is ok


def test_the_mops_entry_point_is_the_cli_checked_here() -> None:
    pyproject = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["mops"] == "mops.cli:main"


# (c) start-up order: healthy backends, a finished migration ------------------------------


def test_services_wait_for_healthy_backends_and_the_migration() -> None:
    actual = {name: svc["depends_on"] for name, svc in SERVICES.items() if "depends_on" in svc}
    assert actual == DEPENDS_ON
    for name, deps in actual.items():
        for dep, spec in deps.items():
            target = SERVICES[dep]
            if target.get("restart") == "no":           # a one-shot job: wait for success
                assert spec["condition"] == "service_completed_successfully", (name, dep)
            else:
                assert spec["condition"] == "service_healthy", (name, dep)
                check = target.get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), f"{dep}: no healthcheck"
                assert check["test"][0] in ("CMD", "CMD-SHELL"), dep


def test_redis_and_postgres_have_their_health_checks() -> None:
    assert SERVICES["redis"]["image"].startswith("redis:7")
    assert SERVICES["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    postgres = SERVICES["postgres"]
    assert postgres["image"].startswith("postgres:16")
    test = postgres["healthcheck"]["test"]
    assert "pg_isready" in test and test[test.index("-U") + 1] == "mops"
    assert postgres["environment"] == {
        "POSTGRES_USER": "mops", "POSTGRES_PASSWORD": "mops", "POSTGRES_DB": "mops"}
    named = {v.split(":")[0] for v in postgres["volumes"]}
    assert named <= set(COMPOSE_DOC["volumes"]), "postgres keeps its data in a named volume"


def test_the_migration_runs_once() -> None:
    migrate = SERVICES["migrate"]
    assert argv(migrate) == ["mops", "db", "upgrade"]
    assert migrate["restart"] == "no"


def test_mops_containers_share_one_environment() -> None:
    assert COMPOSE_DOC["x-mops-env"] == MOPS_ENV
    for name in MOPS_SERVICES:
        assert SERVICES[name]["environment"] == MOPS_ENV, name
        assert SERVICES[name]["image"] == SERVICES["worker"]["image"], name
    image_users = {n for n, s in SERVICES.items() if "build" in s}
    assert image_users == set(MOPS_SERVICES), "every service of the mops image runs `mops …`"
    # the job store is the postgres service, as it is configured
    pg = SERVICES["postgres"]["environment"]
    assert MOPS_ENV["MOPS_DATABASE_URL"] == (
        f"postgresql+psycopg://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{pg['POSTGRES_DB']}")
    # Flower watches the broker the workers use
    assert f"--broker={MOPS_ENV['MOPS_BROKER_URL']}" in argv(SERVICES["flower"])


def test_web_and_flower_publish_their_ports() -> None:
    assert argv(SERVICES["web"]) == ["mops", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert [p.rsplit(":", 2)[-2:] for p in SERVICES["web"]["ports"]] == [["8000", "8000"]]
    assert "flower" in argv(SERVICES["flower"]) and "--port=5555" in argv(SERVICES["flower"])
    assert [p.rsplit(":", 2)[-2:] for p in SERVICES["flower"]["ports"]] == [["5555", "5555"]]


# (d) the worker scales -------------------------------------------------------------------


def test_the_worker_can_be_scaled() -> None:
    worker = SERVICES["worker"]
    assert argv(worker)[:2] == ["mops", "worker"]
    for fixed in ("container_name", "hostname", "ports"):
        assert fixed not in worker, f"worker sets {fixed}: `--scale worker=N` would clash"


# (e) the image ---------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuations joined."""
    lines: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        instruction, _, args = full.partition(" ")
        lines.append((instruction.upper(), args.strip()))
    return lines


def packages() -> list[str]:
    """The top-level packages pyproject.toml installs."""
    pyproject = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(d.name for d in ROOT.iterdir()
                  if (d / "__init__.py").is_file()
                  and any(fnmatch.fnmatch(d.name, p) for p in include))


def copied() -> list[str]:
    """The sources of every COPY (without --from)."""
    sources: list[str] = []
    for instruction, args in dockerfile():
        if instruction in ("COPY", "ADD"):
            words = [w for w in shlex.split(args) if not w.startswith("--")]
            assert not args.startswith("--from"), "single-stage image expected"
            sources += [w.rstrip("/").removeprefix("./") for w in words[:-1]]
    return sources


def test_the_image_is_python_3_11_or_newer() -> None:
    bases = [args.split()[-1] for instruction, args in dockerfile() if instruction == "FROM"]
    match = re.fullmatch(r"python:(\d+)\.(\d+)(?:\.\d+)?(?:-[\w.-]+)?", bases[-1])
    assert match, f"the final stage is not a python image: {bases[-1]}"
    version = Version(f"{match[1]}.{match[2]}")
    assert version >= Version("3.11")
    requires = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["requires-python"]
    assert version in SpecifierSet(requires)


def test_the_image_installs_the_project_as_a_non_root_user() -> None:
    instructions = dockerfile()
    sources = copied()
    assert "pyproject.toml" in sources and "README.md" in sources   # README: project.readme
    missing = [p for p in packages() if p not in sources]
    assert not missing, f"the Dockerfile does not copy these packages: {missing}"
    runs = [args for instruction, args in instructions if instruction == "RUN"]
    assert any(re.search(r"pip install\b[^&;|]*\s\.(\s|$)", run) for run in runs), \
        "no `pip install .`"
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "runs as root"
    # compose commands are whole argv lists (`mops ...`): an ENTRYPOINT would prefix them
    assert not any(instruction == "ENTRYPOINT" for instruction, _ in instructions)
    env = " ".join(args for instruction, args in instructions if instruction == "ENV")
    assert "MOPS_HOME=/data" in env
    assert all("mops-home:/data" in SERVICES[n]["volumes"] for n in MOPS_SERVICES)


def test_the_build_context_leaves_out_local_state_but_not_the_sources() -> None:
    patterns = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    for needed in (".git", ".mops*", "bench/data", "**/__pycache__", ".pytest_cache",
                   ".mypy_cache", ".ruff_cache", ".hypothesis"):
        assert needed in patterns, f".dockerignore lacks {needed}"
    for source in copied():
        hit = [p for p in patterns if not p.startswith("!")
               and (fnmatch.fnmatch(source, p) or fnmatch.fnmatch(source, p.removeprefix("**/")))]
        assert not hit, f".dockerignore drops {source}, which the Dockerfile copies: {hit}"


# (f) no secrets --------------------------------------------------------------------------


def strings(node: Any, where: str = "") -> Iterator[tuple[str, str, str]]:
    """(where, key, value) for every scalar in the document (key: the mapping key, if any)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict | list):
                yield from strings(value, f"{where}/{key}")
            else:
                yield f"{where}/{key}", str(key), str(value)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if isinstance(value, dict | list):
                yield from strings(value, f"{where}/{i}")
            elif isinstance(value, str) and "=" in value:      # KEY=value list entries
                key, _, val = value.partition("=")
                yield f"{where}/{i}", key, val
            else:
                yield f"{where}/{i}", "", str(value)


def test_no_credentials_but_the_dev_default() -> None:
    for where, key, value in strings(COMPOSE_DOC):
        for match in URL_CREDENTIALS.finditer(value):
            assert (match["user"], match["password"]) in DEV_CREDENTIALS, where
        if SECRET_NAME.search(key):
            assert value in DEV_SECRET_VALUES, f"{where}: a secret other than the dev default"
    for instruction, args in dockerfile():
        assert not URL_CREDENTIALS.search(args), f"credentials in the Dockerfile: {args}"
        if instruction in ("ENV", "ARG"):
            assert not SECRET_NAME.search(args), f"a secret in the image: {instruction} {args}"
    for service in SERVICES.values():
        assert "env_file" not in service and "secrets" not in service
