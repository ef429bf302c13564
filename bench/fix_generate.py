"""Data for the UTM-fix and backfill benchmarks: a links CSV and a sandbox CRM of N rows.

Deterministic: the same `rows` and `seed` give the same bytes.

`links`: `links.csv` (name, channel, url, notes; `,`, CRLF, minimal quoting, a few notes
with a comma, quotes or a line break) and `utm.toml`, the taxonomy of the issue (source:
facebook, google, linkedin, newsletter with aliases fb, facebook.com, adwords; medium: cpc,
email, social, paid-social, organic with aliases ppc, e-mail; campaign `^[a-z0-9-]+$`;
source, medium and campaign required). The URLs vary host, path (some with `,` or
percent-encoding), other parameters before, between and after the utm ones (`+` spaces,
percent-encoded values, a key without `=`, an empty pair) and fragments. ~60% of the rows
carry utm values that fix (case, spaces as `+` or `%20`, aliases, an upper-case key), ~5%
one value the taxonomy cannot decide (that pair is left alone; about half of these have
other values that still fix), ~35% are clean (a seventh of them untagged).

`backfill`: `crm.db`, a `SandboxCRM` on SQLite with N contacts: ~40% with a country, ~50%
without one and with an international phone (`+…`, some `00…`) that gives it, ~10% without
one and undecidable (a national number, a non-geographic +800 number, or no phone).

`manifest.json` is written last: the parameters, the plan counts a correct job has, and the
target's initial state (the links file's size and sha256; the CRM's `bench.crmstate`).
Data whose manifest matches is reused.

    python -m bench.fix_generate --kind links|backfill --rows 100000 [--seed 7] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from bench.crmstate import crm_state
from bench.generate import COMPANIES, COUNTRY_WEIGHTS, DATA, DOMAINS, FIRST, LAST, _phone

VERSION = 2  # bump when the data changes shape: old data is then regenerated
Kind = Literal["links", "backfill"]

TAXONOMY = """\
[utm]
case = "lower"
space = "-"
[utm.source]
allowed = ["facebook", "google", "linkedin", "newsletter"]
aliases = { fb = "facebook", "facebook.com" = "facebook", adwords = "google" }
[utm.medium]
allowed = ["cpc", "email", "social", "paid-social", "organic"]
aliases = { ppc = "cpc", "e-mail" = "email" }
[utm.campaign]
pattern = "^[a-z0-9-]+$"
required = ["source", "medium", "campaign"]
"""

# Shares of link rows; the rest are clean.
UNKNOWN, FIXABLE, UNTAGGED = 0.05, 0.60, 0.05

HOSTS = ("https://www.example.com", "https://shop.acme.io", "https://blog.globex.com",
         "http://landing.initech.net", "https://acme.de", "https://news.umbrella.org",
         "https://xn--mnchen-3ya.de", "https://www.example.co.uk", "https://go.hooli.com:8443")
PATHS = ("/", "/spring-sale", "/products/shoes/running", "/de/angebote/", "/blog/2024/05/utm",
         "/p/caf%C3%A9-cr%C3%A8me", "/search", "/landing/index.html", "/catalog/shoes,boots",
         "/webinar/q3", "")
OTHER = ("ref=homepage", "q=red+shoes", "q=caf%C3%A9+cr%C3%A8me", "page=2", "lang=de",
         "gclid=Cj0KCQjw8O-VBhCpARIsACMvVLM", "fbclid=IwAR2xYz_9kLm", "id=12345",
         "redirect=https%3A%2F%2Fx.test%2Fa%3Fb%3D1", "sort=price&dir=asc", "preview", "")
FRAGMENTS = ("",) * 6 + ("#top", "#section-2", "#/cart?step=1", "#Pricing%20Table")
CHANNELS = ("Facebook Ads", "Google Ads", "LinkedIn", "Newsletter", "Organic social")
LINK_NOTES = ("",) * 12 + ("check with Anna", 'copied from "Q3 plan"', "owner: growth, EU",
                           "paused", "A/B test – variant b")
MULTILINE = "first line\nsecond line, with a comma"

SOURCES = ("facebook", "google", "linkedin", "newsletter")
MEDIUMS = ("cpc", "email", "social", "paid-social", "organic")
CAMPAIGNS = ("spring-sale", "q3-webinar", "black-friday-2024", "launch", "product-hunt",
             "summer-23", "brand")
# Written forms that fix to a clean value: (as written, URL-encoded).
MESSY_SOURCES = ("Facebook", "FB", "fb", "facebook.com", "Facebook.com", "adwords", "AdWords",
                 "GOOGLE", "%20google", "LinkedIn", "Newsletter")
MESSY_MEDIUMS = ("PPC", "ppc", "E-Mail", "e-mail", "Email", "CPC", "Social", "Paid+Social",
                 "paid%20social", "Organic")
MESSY_CAMPAIGNS = ("Spring%20Sale", "Spring+Sale", "Black+Friday+2024", "Q3-Webinar",
                   "LAUNCH", "spring++sale", "Product%20Hunt", "Summer-23")
# Values the taxonomy cannot decide, one per unknown row.
UNKNOWN_VALUES = (("utm_source", "tiktok"), ("utm_source", "TikTok"), ("utm_source", "bing"),
                  ("utm_medium", "banner"), ("utm_medium", "display"),
                  ("utm_campaign", "spring_sale"), ("utm_campaign", "50%25-off"))


def file_state(path: Path) -> dict[str, Any]:
    """What a file holds, to compare: its size and sha256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def data_dir(kind: str, rows: int, seed: int, out: Path = DATA) -> Path:
    """The directory of the data set of `kind` for `rows` and `seed`."""
    return out / f"fix-{kind}-{rows}-s{seed}"


def ensure(kind: Kind, rows: int, seed: int, out: Path = DATA,
           log: Callable[[str], None] = print) -> tuple[Path, dict[str, Any]]:
    """The data set, generated unless a matching one exists."""
    root = data_dir(kind, rows, seed, out)
    manifest = root / "manifest.json"
    if manifest.is_file():
        found: dict[str, Any] = json.loads(manifest.read_text())
        if found.get("version") == VERSION:
            log(f"reusing {root}")
            return root, found
    root.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)
    started = time.perf_counter()
    made = generate_links(root, rows, seed) if kind == "links" else \
        generate_contacts(root, rows, seed)
    made = {"version": VERSION, "kind": kind, "rows": rows, "seed": seed, **made}
    manifest.write_text(json.dumps(made, indent=2) + "\n")
    log(f"generated {root} in {time.perf_counter() - started:.1f} s")
    return root, made


# --- links ------------------------------------------------------------------------------

def generate_links(root: Path, n: int, seed: int) -> dict[str, Any]:
    """Write `links.csv` and `utm.toml`; return the manifest's counts."""
    rng = random.Random(seed)
    (root / "utm.toml").write_text(TAXONOMY)
    counts: Counter[str] = Counter()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(("name", "channel", "url", "notes"))
    for i in range(n):
        u = rng.random()
        if u < UNKNOWN:
            url, fixes = _link(rng, messy=0.3, unknown=True)
            category = "unknown_rest_fixable" if fixes else "unknown_rest_clean"
        elif u < UNKNOWN + FIXABLE:
            url, category = _link(rng, messy=0.5, unknown=False)[0], "fixable"
        elif u < UNKNOWN + FIXABLE + UNTAGGED:
            url, category = _untagged(rng), "untagged"
        else:
            url, category = _link(rng, messy=0.0, unknown=False)[0], "clean"
        counts[category] += 1
        note = MULTILINE if rng.random() < 0.001 else rng.choice(LINK_NOTES)
        writer.writerow((f"{rng.choice(CAMPAIGNS).replace('-', ' ').title()} #{i}",
                         rng.choice(CHANNELS), url, note))
    (root / "links.csv").write_bytes(buffer.getvalue().encode())
    # A value needing a decision holds back only its own parameter: the rest still fix.
    updates = counts["fixable"] + counts["unknown_rest_fixable"]
    expected = {"update": updates, "unchanged": n - updates,
                "needs_decision": counts["unknown_rest_fixable"] + counts["unknown_rest_clean"]}
    return {"categories": dict(sorted(counts.items())), "expected": expected,
            "initial": file_state(root / "links.csv")}


def _link(rng: random.Random, messy: float, unknown: bool) -> tuple[str, bool]:
    """A tagged link, and whether fixing changes it; each utm value messy with probability
    `messy` (at least one if > 0 and not `unknown`), and one value the taxonomy cannot
    decide if `unknown`."""
    values = {"utm_source": rng.choice(SOURCES), "utm_medium": rng.choice(MEDIUMS),
              "utm_campaign": rng.choice(CAMPAIGNS)}
    messy_forms = {"utm_source": MESSY_SOURCES, "utm_medium": MESSY_MEDIUMS,
                   "utm_campaign": MESSY_CAMPAIGNS}
    keys = {param: param for param in values}
    if messy:
        chosen = [p for p in values if rng.random() < messy]
        if not chosen and not unknown:
            chosen = [rng.choice(tuple(values))]
        for param in chosen:
            values[param] = rng.choice(messy_forms[param])
        if not unknown and rng.random() < 0.1:
            param = rng.choice(tuple(values))
            keys[param] = param.upper() if rng.random() < 0.5 else "UTM_" + param[4:].title()
    else:
        chosen = []
    if unknown:
        param, value = rng.choice(UNKNOWN_VALUES)
        values[param] = value
        chosen = [p for p in chosen if p != param]
    pairs = [f"{keys[p]}={v}" for p, v in values.items()]
    if rng.random() < 0.2:
        pairs.append("utm_content=hero-banner")
    rng.shuffle(pairs)
    pairs = _with_others(rng, pairs)
    url = f"{rng.choice(HOSTS)}{rng.choice(PATHS)}?{'&'.join(pairs)}{rng.choice(FRAGMENTS)}"
    return url, bool(chosen) or any(key != param for param, key in keys.items())


def _with_others(rng: random.Random, pairs: list[str]) -> list[str]:
    """Other parameters before, between and after the utm pairs."""
    out = list(pairs)
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        out.insert(rng.randrange(len(out) + 1), rng.choice(OTHER))
    return out


def _untagged(rng: random.Random) -> str:
    others = [rng.choice(OTHER) for _ in range(rng.choice((0, 1, 2)))]
    query = f"?{'&'.join(others)}" if others else ""
    return f"{rng.choice(HOSTS)}{rng.choice(PATHS)}{query}{rng.choice(FRAGMENTS)}"


# --- contacts ---------------------------------------------------------------------------

# Shares of contacts, in order; the rest have no country and no phone.
WITH_COUNTRY, DERIVABLE, NATIONAL, NON_GEOGRAPHIC = 0.40, 0.50, 0.05, 0.01


def generate_contacts(root: Path, n: int, seed: int) -> dict[str, Any]:
    """Write `crm.db` with `n` contacts; return the manifest's counts and initial state."""
    rng = random.Random(seed)
    codes = rng.choices(tuple(COUNTRY_WEIGHTS), weights=tuple(COUNTRY_WEIGHTS.values()), k=n)
    counts: Counter[str] = Counter()
    contacts: list[tuple[str, dict[str, str]]] = []
    for i, code in enumerate(codes):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        fields = {"firstname": first[0], "lastname": last[0], "company": rng.choice(COMPANIES)}
        international, national = _phone(code, rng.randrange(100_000_000), True)[0], \
            _phone(code, rng.randrange(100_000_000), False)[0]
        u = rng.random()
        if u < WITH_COUNTRY:
            fields |= {"country": code, "phone": rng.choice((international, national))}
            counts["kept"] += 1
        elif u < WITH_COUNTRY + DERIVABLE:
            phone = international
            if rng.random() < 0.1:
                phone = "00" + phone[1:]
            fields["phone"] = phone
            counts["update"] += 1
            counts[f"update_{code}"] += 1
        elif u < WITH_COUNTRY + DERIVABLE + NATIONAL:
            fields["phone"] = national
            counts["undecided"] += 1
        elif u < WITH_COUNTRY + DERIVABLE + NATIONAL + NON_GEOGRAPHIC:
            fields["phone"] = f"+800 {rng.randrange(10_000_000):08d}"
            counts["undecided"] += 1
        else:
            counts["undecided"] += 1
        email = f"{first[1]}.{last[1]}{i}@{rng.choice(DOMAINS)}"
        contacts.append((email, fields))
    _seed_crm(root / "crm.db", contacts)
    expected = {k: v for k, v in counts.items() if not k.startswith("update_")}
    return {"expected": dict(sorted(expected.items())),
            "by_country": {k[7:]: v for k, v in sorted(counts.items())
                           if k.startswith("update_")},
            "initial": crm_state(root / "crm.db")}


def _seed_crm(path: Path, contacts: list[tuple[str, dict[str, str]]]) -> None:
    """Create the CRM with `SandboxCRM`, then fold its WAL into the file."""
    from tools.records import Record
    from tools.sandbox import SandboxCRM

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    crm = SandboxCRM(f"sqlite:///{path}")
    try:
        for start in range(0, len(contacts), 20_000):
            part = contacts[start:start + 20_000]
            results = crm.create_contacts([Record(key=k, fields=f) for k, f in part])
            if not all(r.ok for r in results):
                raise RuntimeError(f"seeding failed: {next(r for r in results if not r.ok)}")
    finally:
        crm.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


def main() -> None:
    """Command line: generate (or reuse) one data set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("links", "backfill"), required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=DATA)
    parser.add_argument("--quiet", action="store_true", help="do not print the manifest")
    args = parser.parse_args()
    root, manifest = ensure(args.kind, args.rows, args.seed, args.out)
    if not args.quiet:
        print(json.dumps({"data": str(root), **manifest}, indent=2))


if __name__ == "__main__":
    main()
