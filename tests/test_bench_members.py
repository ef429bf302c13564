"""The memberships-only benchmark runs its four phases on a small data set."""

from __future__ import annotations

from pathlib import Path

from bench.generate import ensure
from bench.members_only import run


def test_members_only_uploads_and_removes_each_membership(tmp_path: Path) -> None:
    paths, manifest = ensure(400, 3, tmp_path / "data", log=lambda _: None)
    rows = 150
    assert manifest["initial"]["contacts"] >= rows
    seconds = run(paths.root, rows, tmp_path / "work")
    assert list(seconds) == ["plan", "apply", "rollback plan", "rollback apply"]
    assert all(s > 0 for s in seconds.values())
