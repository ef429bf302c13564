"""Files in Slack requests: CSVs shared in the channel, kept in MOPS_HOME/uploads/.

A file named in a `/mops` request is looked up in the uploads folder only: a name with a
folder in it (`../x`, `/etc/x`) is refused, so nobody reaches other files on the server
through Slack. A CSV shared in the channel is downloaded there with the bot token — only
from Slack itself (or the configured API host), so the token is never sent elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from agents.requests import Params

MAX_BYTES = 512 * 1024 * 1024       # a few million rows of leads
SHAREABLE = (".csv", ".toml")        # lists, links and maps; UTM taxonomies


class BadFile(ValueError):
    """A file a Slack request may not use, or a shared file that cannot be kept."""


def uploads(home: Path) -> Path:
    """The folder where files shared in Slack are kept."""
    return home / "uploads"


def plain_name(name: str) -> str:
    """`name` if it is a plain file name (no folder); else `BadFile`."""
    if not name or Path(name).name != name or name in (".", "..") or "\\" in name:
        raise BadFile(f"{name!r} is not a file shared in the channel; share the file in "
                      "Slack and name it without a folder")
    return name


def known(folder: Path, name: str) -> bool:
    """Whether a file of that name has been shared (and kept in `folder`)."""
    try:
        return (folder / plain_name(name)).is_file()
    except BadFile:
        return False


def resolve(params: Params, folder: Path) -> Params:
    """`params` with every file it names (its `FileName` fields) taken from `folder`;
    `BadFile` for a path."""
    fields = params.file_fields()
    values = {f: getattr(params, f) for f in fields if getattr(params, f, None) is not None}
    return params.model_copy(update={f: str(folder / plain_name(v)) for f, v in values.items()})


class SharedFile(BaseModel):
    """What `files.info` says of a shared file (the fields mops uses)."""

    id: str
    name: str
    size: int = 0
    url_private_download: str | None = None
    url_private: str | None = None


def download(shared: SharedFile, token: str, api_url: str, folder: Path) -> Path:
    """Fetch a shared CSV into `folder` (replacing an older one of the same name)."""
    name = plain_name(shared.name)
    url = shared.url_private_download or shared.url_private or ""
    if not name.lower().endswith(SHAREABLE):
        raise BadFile(f"{name}: only {' and '.join(SHAREABLE)} files can be used")
    if shared.size > MAX_BYTES:
        raise BadFile(f"{name} is {shared.size:,} bytes; at most {MAX_BYTES:,}")
    if not _from_slack(url, api_url):
        raise BadFile(f"{name}: not a Slack file URL")
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{name}.part"
    try:
        with httpx.Client(timeout=60, follow_redirects=False) as http, \
                http.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as got:
            got.raise_for_status()
            _save(got, part, name)
        os.replace(part, folder / name)     # a file is there whole, or not at all
    finally:
        part.unlink(missing_ok=True)
    return folder / name


def _save(answer: httpx.Response, part: Path, name: str) -> None:
    size = 0
    with part.open("wb") as out:
        for chunk in answer.iter_bytes():
            size += len(chunk)
            if size > MAX_BYTES:
                raise BadFile(f"{name} is larger than {MAX_BYTES:,} bytes")
            out.write(chunk)


def _from_slack(url: str, api_url: str) -> bool:
    """Whether `url` is Slack's (https, *.slack.com) or on the configured API's host."""
    parts, api = urlsplit(url), urlsplit(api_url)
    if (parts.scheme, parts.netloc) == (api.scheme, api.netloc):
        return True
    host = parts.hostname or ""
    return parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))
