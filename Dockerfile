# The mops image: the `mops` command and everything it imports, run as a non-root user.
# docker-compose.yml runs it as the migration job, the workers and the web app:
#   docker build -t mops .
#   docker run --rm mops mops --help
#
# No ENTRYPOINT: a service's `command` is the whole argv (`["mops", "worker", ...]`), so the
# compose file names the real command and tests/test_compose.py can check it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    MOPS_HOME=/data

# The user the processes run as; /data is MOPS_HOME (mops.toml, the sandbox CRM's database)
# and is owned by it, so a named volume mounted there starts out writable.
RUN groupadd --system --gid 10001 mops \
    && useradd --system --uid 10001 --gid mops --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin mops \
    && mkdir -p /data \
    && chown mops:mops /data

WORKDIR /src

# Dependencies first, in a layer of their own: it is rebuilt only when pyproject.toml
# changes, not on every change to the code. (All of them ship wheels for this base image:
# psycopg[binary], polars, orjson; no compiler is needed.)
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
       > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the project itself: the packages pyproject.toml installs (its
# [tool.setuptools.packages.find] include list; the Alembic migrations ride along as
# package data of `approvals`). The dependencies are already in place.
COPY agents ./agents
COPY approvals ./approvals
COPY mops ./mops
COPY tasks ./tasks
COPY tools ./tools
RUN pip install --no-deps . \
    && rm -rf /src/build /src/*.egg-info

USER mops
WORKDIR /data

CMD ["mops", "--help"]
