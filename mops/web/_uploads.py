"""Lead files uploaded through the web page, kept in MOPS_HOME/uploads/web/.

Each upload gets a folder of its own (a random name) holding the file under its own plain
name, so two people uploading `leads.csv` never overwrite each other and the job shows the
name they know. Only `.csv` files are taken, at most `MAX_BYTES`, written whole or not at
all; the name the browser sends is reduced to a plain file name, so it can reach no other
folder.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
import uuid
from pathlib import Path
from typing import BinaryIO

from mops.slack.files import MAX_BYTES, uploads

CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^\w. -]+")
LONGEST = 120          # characters of a kept name


class BadUpload(ValueError):
    """An uploaded file mops will not keep."""


def plain(name: str) -> str:
    """The browser's file name as a plain, harmless one ("../x/leads (1).csv" → "leads 1.csv"):
    no folder, letters (any script), digits, spaces, dots and dashes, at most `LONGEST`."""
    shown = name[:LONGEST] or "the file"
    if not name.lower().endswith(".csv"):
        raise BadUpload(f"{shown}: only .csv files can be uploaded")
    stem = _UNSAFE.sub("", Path(unicodedata.normalize("NFC", name).replace("\\", "/")).name)
    stem = stem[:-4].strip(" .")[:LONGEST - 4]
    return f"{stem or 'upload'}.csv"


def save(source: BinaryIO, name: str, home: Path) -> Path:
    """Keep an uploaded file; its path. `BadUpload` for a wrong name or a file too large."""
    folder = uploads(home) / "web" / uuid.uuid4().hex
    target = folder / plain(name)
    folder.mkdir(parents=True, mode=0o700)     # leads are personal data: owner only
    part = folder / f".{target.name}.part"
    try:
        size = 0
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise BadUpload(f"{target.name} is larger than {MAX_BYTES:,} bytes")
                out.write(chunk)
        if size == 0:
            raise BadUpload(f"{target.name} is empty")
        os.replace(part, target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return target


def mapping(text: str) -> dict[str, str]:
    """`HEADER=field` lines (as `mops upload --map`) as a mapping; blank lines skipped."""
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        header, sep, field = line.partition("=")
        if not sep or not header.strip() or not field.strip():
            raise BadUpload(f"column mapping, line {number}: HEADER=field, not {line!r}")
        found[header.strip()] = field.strip()
    return found
