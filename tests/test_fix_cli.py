"""`mops utm-fix` and `mops backfill` as people and scripts use them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.test_utm_fix_job import LINKS
from tests.test_utm_taxonomy import EXAMPLE as TAXONOMY

Run = Callable[..., str]


def test_utm_fix_of_a_links_file_as_json(mops: Run, tmp_path: Path) -> None:
    (tmp_path / "utm.toml").write_text(TAXONOMY)
    (tmp_path / "ads.csv").write_bytes(LINKS.encode())
    job = json.loads(mops("utm-fix", "--links", "ads.csv", "--column", "link", "--taxonomy",
                          "utm.toml", "--out", "fixed.csv", "--as", "alice", "--json"))
    assert job["kind"] == "utm_fix" and job["state"] == "awaiting_approval"
    assert job["summary"]["update"] == 1 and job["summary"]["needs_decision"] == 1
    assert job["target"].startswith("file://") and "column=link&sha256=" in job["target"]
    done = json.loads(mops("approve", str(job["job"]), "--as", "bob", "--json"))
    assert done["state"] == "succeeded"
    assert "utm_source=facebook" in (tmp_path / "fixed.csv").read_text()


def test_backfill_as_json_and_its_errors(mops: Run, tmp_path: Path) -> None:
    (tmp_path / "leads.csv").write_text("email,phone\nann@acme.de,+49 30 1234567\n")
    mops("upload", "leads.csv", "--list", "L", "--as", "alice")
    mops("approve", "1", "--as", "bob")
    job = json.loads(mops("backfill", "country", "--derive", "country_from_phone",
                          "--where", "country is empty", "--as", "alice", "--json"))
    assert job["kind"] == "backfill" and job["summary"]["update"] == 1
    assert job["params"]["derive"] == "country_from_phone"

    err = mops("backfill", "country", "--value", "DE", "--derive", "country_from_phone",
               code=2)
    assert "exactly one of --from, --value, --derive, --map" in err
    err = mops("backfill", "country", "--value", "DE", "--where", "country = ", code=1)
    assert len(err.strip().splitlines()) == 1 and "--where: column 11" in err
    err = mops("backfill", "country", "--value", "DE", "--object", "deal", code=2)
    assert "only 'contact'" in err
    assert len(json.loads(mops("jobs", "--json"))) == 2      # the failures left no job


def test_only_a_sandbox_can_be_seeded(mops: Run, tmp_path: Path) -> None:
    (tmp_path / "none.toml").write_text('[targets.hs]\nkind = "hubspot"\ntoken = "t"\n')
    err = mops("sandbox", "seed", "--target", "hs", code=1)
    assert "only a sandbox can be seeded" in err
