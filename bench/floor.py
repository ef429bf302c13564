"""The floor: the list upload's data work with polars and plain sqlite3, and no framework.

What mops does for a list upload, done as directly as one script can, to show what the
work itself costs on this machine:

1. plan: read the CSV with polars (BOM, `;`, quotes, blank lines); map the headers; trim;
   lower-case and validate e-mails by regex; map countries through a dict built over the
   distinct values; parse phones with `phonenumbers` once per distinct (phone, region);
   reject bad rows; keep the first row per e-mail; join with the CRM's contacts; work out
   creates, updates (only the fields that differ; an empty cell never blanks a value),
   unchanged rows and list memberships;
2. apply: save the before-images and the values written to a rollback log (its own SQLite
   file, committed first), then write in one transaction with `executemany`, in key order
   (as mops orders its batches: random keys dirty pages all over the indexes);
3. rollback plan: read the log back and check that every record still holds what was
   written (a value changed since is a conflict and is left alone);
4. rollback apply: delete the created contacts, restore the updated fields, remove the
   memberships and the list, in one transaction.

No hash chain, no stored plan, no approvals: that is the framework's share of the time.

    python -m bench.floor --data DIR --work DIR --out result.json
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
import polars as pl
import pycountry

from bench.crmstate import crm_state
from bench.measure import Phases

# Headers → contact fields: the synonyms this file uses (mops knows hundreds).
HEADERS = {"e-mail address": "email", "email": "email", "first name": "firstname",
           "last name": "lastname", "company": "company", "country": "country",
           "phone": "phone"}
EMAIL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:" \
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
COUNTRY_ALIASES = {"uk": "GB", "usa": "US", "holland": "NL", "deutschland": "DE",
                   "españa": "ES", "espana": "ES"}
E164 = phonenumbers.PhoneNumberFormat.E164
POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE


@dataclass
class Plan:
    """What the upload will write."""

    fields: list[str]                # the contact fields the file fills (not email)
    creates: pl.DataFrame            # email, *fields
    updates: pl.DataFrame            # email, *fields (new, null if unchanged), *before
    members: pl.Series               # e-mails joining the list
    list_exists: bool
    summary: dict[str, int]


def plan(csv: Path, db: sqlite3.Connection, list_name: str) -> Plan:
    """Read, normalise and validate the file, and diff it against the CRM."""
    raw = pl.read_csv(csv, separator=";", infer_schema=False, quote_char='"')
    raw = raw.filter(~pl.all_horizontal(pl.all().is_null()))  # blank lines
    mapped = {c: HEADERS[c.strip().lower()] for c in raw.columns if c.strip().lower() in HEADERS}
    trimmed = [pl.col(c).str.strip_chars() for c in mapped]
    df = raw.select([pl.when(t != "").then(t).alias(mapped[c]) for t, c in
                     zip(trimmed, mapped, strict=True)])
    fields = [f for f in df.columns if f != "email"]
    df = df.with_columns(pl.col("email").str.to_lowercase())
    valid = (pl.col("email").str.contains(f"^(?:{EMAIL})$")
             & (pl.col("email").str.len_chars() <= 254)
             & (pl.col("email").str.find("@", literal=True) <= 64)).fill_null(False)
    codes = _countries(df["country"].drop_nulls().unique().to_list())
    df = df.with_columns(pl.col("country").replace_strict(codes, default=None).alias("code"))
    ok = valid & (pl.col("country").is_null() | pl.col("code").is_not_null())
    accepted = df.filter(ok).with_columns(pl.col("code").alias("country")).drop("code")
    rejected = df.height - accepted.height
    accepted = _phones(accepted)
    unique = accepted.unique(subset="email", keep="first", maintain_order=True)
    crm = _contacts(db, fields)
    joined = unique.join(crm, on="email", how="left", suffix="_before")
    changed = {f: pl.col(f).is_not_null() & pl.col(f).ne_missing(pl.col(f"{f}_before"))
               for f in fields}
    exists = pl.col("_exists").is_not_null()
    creates = joined.filter(~exists).select("email", *fields).sort("email")
    updates = joined.filter(exists & pl.any_horizontal(*changed.values())).select(
        "email", *[pl.when(changed[f]).then(pl.col(f)).alias(f) for f in fields],
        *[f"{f}_before" for f in fields]).sort("email")
    list_id = _list_id(db, list_name)
    members = unique["email"].sort()
    already = 0
    if list_id is not None:
        current = {r[0] for r in db.execute(
            "SELECT email FROM list_members WHERE list_id = ?", (list_id,))}
        keep = ~members.is_in(list(current))
        already = members.len() - int(keep.sum())
        members = members.filter(keep)
    summary = {"rejected": rejected, "duplicate": accepted.height - unique.height,
               "create": creates.height, "update": updates.height,
               "unchanged": unique.height - creates.height - updates.height,
               "add_member": members.len()}
    if already:
        summary["already_member"] = already
    if list_id is None:
        summary["create_list"] = 1
    return Plan(fields, creates, updates, members, list_id is not None, summary)


def _countries(values: list[str]) -> dict[str, str]:
    """Distinct country values → alpha-2, for those that name a country."""
    table: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("alpha_2", "alpha_3", "name", "common_name", "official_name"):
            if value := getattr(country, attr, None):
                table.setdefault(value.casefold(), country.alpha_2)
    table.update(COUNTRY_ALIASES)
    return {v: table[v.casefold()] for v in values if v.casefold() in table}


def _e164(value: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return value
    if number.extension or phonenumbers.is_possible_number_with_reason(number) != POSSIBLE:
        return value
    return phonenumbers.format_number(number, E164)


def _phones(df: pl.DataFrame) -> pl.DataFrame:
    """Phones in E.164 where they parse, with the row's country as region: once per pair."""
    region = (pl.when(pl.col("phone").str.starts_with("+")).then(pl.lit(""))
              .otherwise(pl.col("country").fill_null("")).alias("region"))
    df = df.with_columns(region)
    pairs = df.filter(pl.col("phone").is_not_null()).select("phone", "region").unique()
    parsed = [_e164(p, r or None) for p, r in pairs.iter_rows()]
    pairs = pairs.with_columns(pl.Series("e164", parsed, dtype=pl.String))
    return (df.join(pairs, on=["phone", "region"], how="left", maintain_order="left")
            .with_columns(pl.col("e164").alias("phone")).drop("region", "e164"))


def _contacts(db: sqlite3.Connection, fields: list[str]) -> pl.DataFrame:
    """The CRM's contacts: e-mail, the file's fields (suffixed `_before`), a presence flag."""
    rows = db.execute(f"SELECT email, {', '.join(fields)}, 1 FROM contacts").fetchall()
    names = ["email", *[f"{f}_before" for f in fields], "_exists"]
    schema = dict.fromkeys(names, pl.String) | {"_exists": pl.Int8}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _list_id(db: sqlite3.Connection, name: str) -> int | None:
    row = db.execute("SELECT id FROM lists WHERE name = ?", (name,)).fetchone()
    return None if row is None else int(row[0])


def apply(db: sqlite3.Connection, p: Plan, list_name: str) -> None:
    """Save the rollback log (committed first), then write everything in one transaction."""
    f = p.fields
    cols = ", ".join(f)
    db.executescript(f"""
        CREATE TABLE log.created (email TEXT PRIMARY KEY, {cols});
        CREATE TABLE log.updated (email TEXT PRIMARY KEY, {cols},
            {', '.join(f"{x}_before" for x in f)});
        CREATE TABLE log.members (list_name TEXT, email TEXT, PRIMARY KEY (list_name, email));
        CREATE TABLE log.lists (name TEXT PRIMARY KEY);
    """)
    db.execute("BEGIN")
    _insert(db, "log.created", p.creates)
    _insert(db, "log.updated", p.updates)
    db.executemany("INSERT INTO log.members VALUES (?, ?)",
                   ((list_name, e) for e in p.members))
    if not p.list_exists:
        db.execute("INSERT INTO log.lists VALUES (?)", (list_name,))
    db.execute("COMMIT")
    db.execute("BEGIN IMMEDIATE")
    if not p.list_exists:
        db.execute("INSERT INTO lists (name) VALUES (?)", (list_name,))
    list_id = _list_id(db, list_name)
    _insert(db, "contacts", p.creates)
    sets = ", ".join(f"{x} = COALESCE(?, {x})" for x in f)
    db.executemany(
        f"UPDATE contacts SET {sets}, updated_at = CURRENT_TIMESTAMP WHERE email = ?",
        ((*row[1:], row[0]) for row in p.updates.select("email", *f).iter_rows()))
    db.executemany("INSERT INTO list_members (list_id, email) VALUES (?, ?)",
                   ((list_id, e) for e in p.members))
    db.execute("COMMIT")


def _insert(db: sqlite3.Connection, table: str, df: pl.DataFrame) -> None:
    marks = ", ".join("?" * df.width)
    db.executemany(f"INSERT INTO {table} ({', '.join(df.columns)}) VALUES ({marks})",
                   df.iter_rows())


@dataclass
class Undo:
    """What the rollback will write, and the conflicts it leaves alone."""

    delete: list[str]
    restore: pl.DataFrame            # email, *fields (value to restore, null: leave)
    members: list[tuple[str, str]]  # (list name, e-mail)
    lists: list[str]
    conflicts: int


def plan_rollback(db: sqlite3.Connection, fields: list[str]) -> Undo:
    """Read the log and check each record still holds what was written."""
    cols = ", ".join(f"l.{x}" for x in fields)
    now = ", ".join(f"c.{x}" for x in fields)
    created = _frame(db.execute(
        f"SELECT l.email, {cols}, {now}, c.email IS NOT NULL FROM log.created l"
        " LEFT JOIN contacts c ON c.email = l.email"), fields)
    same = pl.all_horizontal(*[pl.col(x).eq_missing(pl.col(f"{x}_now")) for x in fields])
    deletable = created.filter((pl.col("_exists") == 1) & same)
    before = ", ".join(f"l.{x}_before" for x in fields)
    updated = _frame(db.execute(
        f"SELECT l.email, {cols}, {now}, c.email IS NOT NULL, {before} FROM log.updated l"
        " LEFT JOIN contacts c ON c.email = l.email"),
        fields, extra=[f"{x}_before" for x in fields])
    # A field is restored where the job wrote it and the record still holds what it wrote.
    present = updated.filter(pl.col("_exists") == 1)
    restore = present.select(
        "email", *[pl.when(pl.col(x).is_not_null() & pl.col(x).eq(pl.col(f"{x}_now")))
                   .then(pl.col(f"{x}_before").fill_null("")).alias(x) for x in fields])
    moved = present.select(pl.sum_horizontal(
        *[(pl.col(x).is_not_null() & pl.col(x).ne_missing(pl.col(f"{x}_now"))).cast(pl.Int32)
          for x in fields]) > 0)
    conflicts = (created.height - deletable.height + int(moved.to_series().sum())
                 + updated.height - present.height)
    members = db.execute(
        "SELECT m.list_name, m.email FROM log.members m JOIN lists l ON l.name = m.list_name"
        " JOIN list_members lm ON lm.list_id = l.id AND lm.email = m.email").fetchall()
    lists = [r[0] for r in db.execute("SELECT name FROM log.lists")]
    return Undo(deletable["email"].to_list(), restore, members, lists, conflicts)


def _frame(cur: sqlite3.Cursor, fields: list[str], extra: Iterable[str] = ()) -> pl.DataFrame:
    names = ["email", *fields, *[f"{x}_now" for x in fields], "_exists", *extra]
    schema: dict[str, Any] = dict.fromkeys(names, pl.String) | {"_exists": pl.Int8}
    return pl.DataFrame(cur.fetchall(), schema=schema, orient="row")


def rollback(db: sqlite3.Connection, undo: Undo) -> None:
    """Undo in one transaction: memberships, created contacts, updated fields, the list."""
    f = list(undo.restore.columns[1:])
    db.execute("BEGIN IMMEDIATE")
    db.executemany("DELETE FROM list_members WHERE list_id = (SELECT id FROM lists"
                   " WHERE name = ?) AND email = ?", undo.members)
    db.executemany("DELETE FROM contacts WHERE email = ?", ((e,) for e in undo.delete))
    # "" marks a field to empty (its before-image was empty); NULL leaves it as it is.
    sets = ", ".join(f"{x} = CASE WHEN ?1 IS NULL THEN {x} ELSE NULLIF(?1, '') END"
                     .replace("?1", f"?{i}") for i, x in enumerate(f, 1))
    db.executemany(
        f"UPDATE contacts SET {sets}, updated_at = CURRENT_TIMESTAMP WHERE email = ?{len(f) + 1}",
        undo.restore.select(*f, "email").iter_rows())
    db.executemany("DELETE FROM lists WHERE name = ?", ((n,) for n in undo.lists))
    db.execute("COMMIT")


def connect(crm: Path, log: Path) -> sqlite3.Connection:
    """The CRM with the sandbox's settings (WAL, NORMAL sync, foreign keys), log attached."""
    db = sqlite3.connect(crm, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("ATTACH DATABASE ? AS log", (str(log),))
    db.execute("PRAGMA log.journal_mode=WAL")
    db.execute("PRAGMA log.synchronous=NORMAL")
    return db


def run(data: Path, work: Path, out: Path) -> None:
    """The four phases on a copy of the data set's CRM; results to `out`."""
    manifest = json.loads((data / "manifest.json").read_text())
    home = work / "floor"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copyfile(data / "crm.db", home / "crm.db")
    db = connect(home / "crm.db", home / "log.db")
    list_name = manifest["list"]
    phases = Phases()
    try:
        with phases.phase("plan"):
            p = plan(data / "leads.csv", db, list_name)
        with phases.phase("apply"):
            apply(db, p, list_name)
        summary, fields = p.summary, p.fields
        del p
        applied = crm_state(home / "crm.db")
        with phases.phase("rollback plan"):
            undo = plan_rollback(db, fields)
        with phases.phase("rollback apply"):
            rollback(db, undo)
        rollback_summary = {"delete": len(undo.delete), "update": undo.restore.height,
                            "remove_member": len(undo.members), "delete_list": len(undo.lists),
                            "conflict": undo.conflicts}
    finally:
        db.close()
    final = crm_state(home / "crm.db")
    phases.write(out, summary=summary, rollback_summary=rollback_summary,
                 applied_state=applied, final_state=final,
                 restored=final == manifest["initial"])


def main() -> None:
    """Command line (the parent, `bench/upload_bench.py`, calls this)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    run(args.data, args.work, args.out)


if __name__ == "__main__":
    main()
