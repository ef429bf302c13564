"""A messy leads CSV of N rows and a sandbox CRM that already holds about half of them.

Deterministic: the same `rows` and `seed` give the same bytes. The CSV is what people
export: UTF-8 with a byte-order mark, `;` as the delimiter, CRLF line ends, synonyms for
headers ("E-mail Address", "First Name", ...) and an unknown "Notes" column, quoted values
holding the delimiter or quotes (a few holding a line break), ~1% blank lines, ~1% invalid
e-mails, ~2% rows repeating an earlier e-mail in another case or with spaces, countries as
names or codes in any case, phones in national formats (some international), a few
unknown countries, padded cells.

The CRM (`crm.db`, a `SandboxCRM` on SQLite) holds the contacts of about half of the
accepted rows, stored as mops would normalise them, some with fields that differ from the
file, some with fields the file lacks, plus a "Newsletter" list. The list the upload
targets ("Expo") does not exist yet.

`manifest.json` is written last: the parameters, the outcome a correct upload must have
(creates, updates, ...) and the CRM's initial state (`bench.crmstate`). Data whose
manifest matches is reused.

    python -m bench.generate --rows 100000 [--seed 7] [--out bench/data] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.crmstate import crm_state

VERSION = 2  # bump when the data or the CRM layout changes: old data is then regenerated
# 2: contacts in a WITHOUT ROWID table (tools/sandbox/_schema.py)
LIST_NAME = "Expo"
HEADER = ("E-mail Address", "First Name", "Last Name", "Company", "Country", "Phone", "Notes")
DATA = Path(__file__).resolve().parent / "data"

# Shares of rows (the rest are plain, valid rows).
DUPLICATE, INVALID, BLANK = 0.02, 0.01, 0.01

# (as written, as it appears in an e-mail's local part)
FIRST = (
    ("Anna", "anna"), ("Jürgen", "jurgen"), ("Zoë", "zoe"), ("Łukasz", "lukasz"),
    ("María", "maria"), ("John", "john"), ("Emma", "emma"), ("Liam", "liam"),
    ("Sophie", "sophie"), ("Noah", "noah"), ("Olivia", "olivia"), ("Lucas", "lucas"),
    ("Chloé", "chloe"), ("Mateo", "mateo"), ("Hannah", "hannah"), ("Finn", "finn"),
    ("Mia", "mia"), ("Elias", "elias"), ("Léa", "lea"), ("Oliver", "oliver"),
    ("Ines", "ines"), ("Jan", "jan"), ("Sara", "sara"), ("Tom", "tom"),
)
LAST = (
    ("Müller", "muller"), ("Schmidt", "schmidt"), ("O'Brien", "obrien"),
    ("van der Berg", "vanderberg"), ("García", "garcia"), ("Smith", "smith"),
    ("Dubois", "dubois"), ("Rossi", "rossi"), ("Nowak", "nowak"), ("Jansen", "jansen"),
    ("Brown", "brown"), ("Martin", "martin"), ("Fernández", "fernandez"),
    ("Johnson", "johnson"), ("Schneider", "schneider"), ("Bakker", "bakker"),
    ("Lefèvre", "lefevre"), ("Wilson", "wilson"), ("Kowalski", "kowalski"), ("Lee", "lee"),
)
DOMAINS = (
    "example.com", "acme.io", "mail.de", "corp.co.uk", "firma.de", "globex.com",
    "initech.net", "umbrella.org", "wayne-enterprises.com", "exemple.fr", "bedrijf.nl",
)
_WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Cyberdyne",
          "Müller & Söhne", "Dupont", "Stark", "Wonka", "Tyrell", "Soylent", "Aperture")
_SUFFIXES = ("", " GmbH", "; Inc.", " Ltd", ' "Industries"', " SA", " B.V.", " S.L.",
             " & Co. KG", "; Fils et Cie")
COMPANIES = tuple(f"{word}{suffix}" for word in _WORDS for suffix in _SUFFIXES)
NOTES = ("",) * 14 + (
    "called; left message", 'met at "Expo" booth', "VIP", "follow up in Q3; send deck",
    "unsubscribed from newsletter?", "prefers e-mail",
)
MULTILINE_NOTE = "first line\r\nsecond line; with delimiter"

# Country code → how people write it, its weight, and a national phone format.
COUNTRY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "DE": ("Germany", "DE", "de", "Deutschland", "germany"),
    "US": ("USA", "United States", "US", "us"),
    "GB": ("United Kingdom", "UK", "GB", "gb"),
    "FR": ("France", "FR", "fr"),
    "NL": ("Netherlands", "NL", "Holland"),
    "ES": ("Spain", "ES", "España"),
}
COUNTRY_WEIGHTS = {"DE": 30, "US": 25, "GB": 15, "FR": 12, "NL": 10, "ES": 8}
UNKNOWN_COUNTRY, BLANK_COUNTRY = "Narnia", ""


def _phone(code: str, n: int, international: bool) -> tuple[str, str]:
    """A phone number of country `code` from the integer `n`: (as written, E.164)."""
    d = f"{n:08d}"
    if code == "DE":
        national, e164 = f"030 {d}", f"+4930{d}"
        shown = f"+49 30 {d}"
    elif code == "US":
        area = ("212", "415", "312", "617")[n % 4]
        local = f"{2 + n % 8}{d[1:3]}"
        national, e164 = f"({area}) {local}-{d[4:]}", f"+1{area}{local}{d[4:]}"
        shown = f"+1 {area}-{local}-{d[4:]}"
    elif code == "GB":
        national, e164 = f"020 7{d[:3]} {d[4:]}", f"+44207{d[:3]}{d[4:]}"
        shown = f"+44 20 7{d[:3]} {d[4:]}"
    elif code == "FR":
        national = f"01 {d[0:2]} {d[2:4]} {d[4:6]} {d[6:8]}"
        e164, shown = f"+331{d}", f"+33 1 {d[0:2]} {d[2:4]} {d[4:6]} {d[6:8]}"
    elif code == "NL":
        national, e164 = f"020 {d[1:4]} {d[4:]}", f"+3120{d[1:]}"
        shown = f"+31 20 {d[1:4]} {d[4:]}"
    else:  # ES: no trunk prefix
        national, e164 = f"91 {d[1:4]} {d[4:6]} {d[6:]}", f"+3491{d[1:]}"
        shown = f"+34 91 {d[1:4]} {d[4:6]} {d[6:]}"
    return (shown if international else national), e164


def _quoted(value: str) -> str:
    """`value` as a CSV cell: quoted when it holds the delimiter, a quote or a line break."""
    if any(ch in value for ch in ';"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass(frozen=True)
class Paths:
    """Where one data set lives."""

    root: Path

    @property
    def csv(self) -> Path:
        """The leads file."""
        return self.root / "leads.csv"

    @property
    def crm(self) -> Path:
        """The seeded sandbox CRM (SQLite)."""
        return self.root / "crm.db"

    @property
    def manifest(self) -> Path:
        """Parameters, expected outcome and initial CRM state; written last."""
        return self.root / "manifest.json"


def data_paths(rows: int, seed: int, out: Path = DATA) -> Paths:
    """The directory of the data set for `rows` and `seed`."""
    return Paths(out / f"leads-{rows}-s{seed}")


def ensure(rows: int, seed: int, out: Path = DATA, log: Callable[[str], None] = print,
           ) -> tuple[Paths, dict[str, Any]]:
    """The data set for `rows` and `seed`, generated unless a matching one exists."""
    paths = data_paths(rows, seed, out)
    if paths.manifest.is_file():
        manifest = json.loads(paths.manifest.read_text())
        if manifest.get("version") == VERSION and paths.csv.is_file() and paths.crm.is_file():
            log(f"reusing {paths.root}")
            return paths, manifest
    return paths, generate(rows, seed, paths, log)


def generate(rows: int, seed: int, paths: Paths, log: Callable[[str], None] = print,
             ) -> dict[str, Any]:
    """Write the CSV and the CRM for `rows` rows into `paths`; return the manifest."""
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.manifest.unlink(missing_ok=True)
    started = time.perf_counter()
    data = _rows(rows, random.Random(seed))
    lines = _write_csv(paths.csv, data, random.Random(seed + 1))
    log(f"wrote {paths.csv} ({lines:,} lines, {paths.csv.stat().st_size / 1e6:.0f} MB) "
        f"in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    crm = _crm_contacts(data, random.Random(seed + 2))
    members = _seed_crm(paths.crm, crm, random.Random(seed + 3))
    initial = crm_state(paths.crm)
    log(f"seeded {paths.crm} ({len(crm):,} contacts, {members:,} newsletter members) "
        f"in {time.perf_counter() - started:.1f} s")
    manifest = {
        "version": VERSION, "rows": rows, "seed": seed, "lines": lines, "list": LIST_NAME,
        "expected": _expected(data, crm), "initial": initial,
    }
    paths.manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


@dataclass
class Rows:
    """The rows of the file, column by column: as written, and as mops should read them."""

    email: list[str]          # as written
    key: list[str | None]     # the normalised e-mail; None when the e-mail is invalid
    first: list[str]
    last: list[str]
    company: list[str]
    country: list[str]        # as written
    code: list[str | None]    # alpha-2, "" when blank, None when unknown
    phone: list[str]          # as written
    phone_norm: list[str]     # what mops stores ("" when blank)
    notes: list[str]


def _rows(n: int, rng: random.Random) -> Rows:
    """Every column of the `n` rows, drawn in bulk from `rng`."""
    draw = [rng.random() for _ in range(n)]
    first = rng.choices(range(len(FIRST)), k=n)
    last = rng.choices(range(len(LAST)), k=n)
    domain = rng.choices(DOMAINS, k=n)
    codes = rng.choices(tuple(COUNTRY_WEIGHTS), weights=tuple(COUNTRY_WEIGHTS.values()), k=n)
    spelling = [rng.random() for _ in range(n)]
    numbers = [rng.randrange(100_000_000) for _ in range(n)]
    style = [rng.random() for _ in range(n)]
    valid = [
        f"{FIRST[f][1]}.{LAST[s][1]}{i}@{d}"
        for i, (f, s, d) in enumerate(zip(first, last, domain, strict=True))
    ]
    emails = [_messy_email(key, u) for key, u in zip(valid, style, strict=True)]
    keys: list[str | None] = list(valid)
    for i, u in enumerate(draw):
        if u < DUPLICATE and i > 0:
            j = rng.randrange(i)
            earlier = keys[j]  # final already: j < i
            if earlier is not None:
                keys[i], emails[i] = earlier, _duplicate_email(earlier, style[i])
        elif u < DUPLICATE + INVALID:
            keys[i], emails[i] = None, _invalid_email(valid[i], style[i])
    country, code = _countries(codes, spelling)
    phone, phone_norm = _phones(codes, code, numbers, style)
    return Rows(
        email=emails, key=keys,
        first=[FIRST[f][0] if u > 0.03 else f"  {FIRST[f][0]} " for f, u in zip(
            first, spelling, strict=True)],
        last=[LAST[s][0] for s in last],
        company=[c if u > 0.05 else "" for c, u in zip(
            rng.choices(COMPANIES, k=n), style, strict=True)],
        country=country, code=code, phone=phone, phone_norm=phone_norm,
        notes=[MULTILINE_NOTE if u < 0.001 else note for note, u in zip(
            rng.choices(NOTES, k=n), spelling, strict=True)],
    )


def _messy_email(key: str, u: float) -> str:
    if u < 0.10:
        local, _, domain = key.partition("@")
        return f"{local.title()}@{domain.capitalize()}"
    if u < 0.15:
        return f" {key}  "
    return key


def _duplicate_email(key: str, u: float) -> str:
    """The same address written differently: another case, spaces around it."""
    if u < 0.5:
        return key.upper()
    local, _, domain = key.partition("@")
    return f"  {local.title()}@{domain.upper()} "


def _invalid_email(key: str, u: float) -> str:
    local, _, domain = key.partition("@")
    variants = (f"{local}@", f"{local} x@{domain}", f"{local}@@{domain}", f"{local}{domain}",
                f"{local}@{domain.split('.')[0]}", f"@{domain}")
    return variants[int(u * len(variants))]


def _countries(codes: list[str], spelling: list[float],
               ) -> tuple[list[str], list[str | None]]:
    written, normal = [], []
    for code, u in zip(codes, spelling, strict=True):
        if u < 0.002:
            written.append(UNKNOWN_COUNTRY)
            normal.append(None)
        elif u < 0.03:
            written.append(BLANK_COUNTRY)
            normal.append("")
        else:
            names = COUNTRY_SPELLINGS[code]
            written.append(names[int(u * 997) % len(names)])
            normal.append(code)
    return written, normal


def _phones(codes: list[str], normal: list[str | None], numbers: list[int],
            style: list[float]) -> tuple[list[str], list[str]]:
    """Phones as written and as stored: E.164 where the row's country lets them parse."""
    written, stored = [], []
    for code, country, n, u in zip(codes, normal, numbers, style, strict=True):
        if u > 0.95:
            written.append("")
            stored.append("")
            continue
        international = 0.85 < u <= 0.95
        shown, e164 = _phone(code, n, international)
        written.append(shown)
        stored.append(e164 if international or country else shown)
    return written, stored


def _write_csv(path: Path, rows: Rows, rng: random.Random) -> int:
    """Write the file in one go; return its number of physical lines."""
    companies = {c: _quoted(c) for c in COMPANIES}
    companies[""] = ""
    notes = {n: _quoted(n) for n in (*NOTES, MULTILINE_NOTE)}
    lines = [
        f"{e};{f};{la};{companies[c]};{co};{p};{notes[no]}"
        for e, f, la, c, co, p, no in zip(
            rows.email, rows.first, rows.last, rows.company, rows.country, rows.phone,
            rows.notes, strict=True)
    ]
    blanks = set(rng.sample(range(len(lines)), int(len(lines) * BLANK)))
    empty_cells = ";" * (len(HEADER) - 1)
    out = [";".join(HEADER)]
    for position, line in enumerate(lines):
        if position in blanks:  # empty lines, and lines of empty cells
            out.append("" if position % 2 else empty_cells)
        out.append(line)
    text = "\r\n".join(out) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    return text.count("\n")


def _fields(rows: Rows, i: int) -> dict[str, str]:
    """The non-empty fields mops should read from row `i` (trimmed, normalised)."""
    values = {"firstname": rows.first[i].strip(), "lastname": rows.last[i],
              "company": rows.company[i], "country": rows.code[i] or "",
              "phone": rows.phone_norm[i]}
    return {name: value for name, value in values.items() if value}


def _crm_contacts(rows: Rows, rng: random.Random) -> dict[str, dict[str, str]]:
    """About half the distinct valid e-mails as contacts, many with fields that differ."""
    crm: dict[str, dict[str, str]] = {}
    for i, key in enumerate(rows.key):
        if key is None or key in crm or rows.code[i] is None or rng.random() >= 0.5:
            continue
        fields = _fields(rows, i)
        u = rng.random()
        if u < 0.15:
            fields["company"] = rng.choice(COMPANIES)
        elif u < 0.25:
            fields.pop("phone", None)
        elif u < 0.35:
            fields["lastname"] = rng.choice(LAST)[0]
        elif u < 0.45:
            fields["company"] = rng.choice(COMPANIES)
            fields.pop("country", None)
        if rng.random() < 0.3:
            fields["jobtitle"] = rng.choice(("CMO", "Marketing Manager", "Head of Growth"))
            fields["city"] = rng.choice(("Berlin", "London", "Paris", "Madrid", "Boston"))
        crm[key] = fields
    return crm


def _seed_crm(path: Path, contacts: dict[str, dict[str, str]], rng: random.Random) -> int:
    """Create the CRM with `SandboxCRM`; return the number of newsletter members."""
    from tools.records import Record
    from tools.sandbox import SandboxCRM

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    crm = SandboxCRM(f"sqlite:///{path}")
    try:
        items = list(contacts.items())
        for start in range(0, len(items), 20_000):
            part = items[start:start + 20_000]
            results = crm.create_contacts([Record(key=k, fields=f) for k, f in part])
            if not all(r.ok for r in results):
                raise RuntimeError(f"seeding failed: {next(r for r in results if not r.ok)}")
        crm.create_list("Newsletter")
        members = [key for key in contacts if rng.random() < 0.2]
        for start in range(0, len(members), 20_000):
            crm.add_members("Newsletter", members[start:start + 20_000])
    finally:
        crm.close()
    conn = sqlite3.connect(path)  # fold the WAL into the file: the .db alone is the CRM
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    return len(members)


def _expected(rows: Rows, crm: dict[str, dict[str, str]]) -> dict[str, int]:
    """What a correct upload plans: the plan summary's counts."""
    seen: set[str] = set()
    counts: Counter[str] = Counter()
    for i, key in enumerate(rows.key):
        if key is None or rows.code[i] is None:
            counts["rejected"] += 1
            continue
        if key in seen:
            counts["duplicate"] += 1
            continue
        seen.add(key)
        counts["add_member"] += 1
        fields = _fields(rows, i)
        record = crm.get(key)
        if record is None:
            counts["create"] += 1
        elif any(record.get(name) != value for name, value in fields.items()):
            counts["update"] += 1
        else:
            counts["unchanged"] += 1
    counts["create_list"] = 1
    return dict(sorted(counts.items()))


def main() -> None:
    """Command line: generate (or reuse) one data set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=DATA)
    parser.add_argument("--quiet", action="store_true", help="do not print the manifest")
    args = parser.parse_args()
    paths, manifest = ensure(args.rows, args.seed, args.out)
    if not args.quiet:
        print(json.dumps({"data": str(paths.root), **manifest}, indent=2))


if __name__ == "__main__":
    main()
