"""Map the columns of a lead file to contact fields: known header synonyms, and `--map`.

A header is matched after `normalize_header` (case, accents, punctuation and spacing do not
matter). A header that is not a known synonym is reported in `ColumnMap.unknown`, never
guessed. `--map HEADER=field` overrides the synonyms; `--map HEADER=-` (or `=ignore`) skips
a column. Two columns that would fill the same field are an error until an override says
which one to use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from tools.errors import CsvError, InputError
from tools.fields import CONTACT_FIELD_NAMES

IGNORE = frozenset({"-", "ignore"})

# Header texts as exports spell them (HubSpot, Salesforce, Marketo, LinkedIn lead gen,
# Eventbrite, Mailchimp, spreadsheets), and a few in German, French and Spanish.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "email": (
        "email", "e-mail", "mail", "email address", "e-mail address", "emailaddress",
        "work email", "business email", "work email address", "business email address",
        "primary email", "email 1", "contact email", "email id", "e-mail-adresse",
        "courriel", "adresse e-mail", "correo", "correo electronico",
    ),
    "firstname": (
        "first name", "firstname", "first", "given name", "forename", "fname",
        "vorname", "prenom", "nombre",
    ),
    "lastname": (
        "last name", "lastname", "last", "surname", "family name", "lname",
        "nachname", "nom", "nom de famille", "apellido", "apellidos",
    ),
    "company": (
        "company", "company name", "companyname", "organization", "organisation",
        "organization name", "organisation name", "account name",
        "firma", "unternehmen", "entreprise", "societe", "empresa",
    ),
    "jobtitle": (
        "job title", "jobtitle", "title", "job position", "job role",
        "berufsbezeichnung", "poste", "cargo",
    ),
    "phone": (
        "phone", "phone number", "phonenumber", "telephone", "telephone number", "tel",
        "mobile", "mobile phone", "mobile phone number", "mobile number", "cell",
        "cell phone", "work phone", "business phone", "direct phone", "direct dial",
        "telefon", "telefonnummer", "mobil", "handy", "telephone portable", "telefono",
    ),
    "country": (
        "country", "country/region", "country region", "country code", "country name",
        "mailing country", "billing country", "work country", "home country",
        "land", "pays", "pais",
    ),
    "city": (
        "city", "town", "city/town", "mailing city", "billing city", "work city",
        "home city", "locality", "stadt", "ort", "ville", "ciudad",
    ),
    "website": (
        "website", "web site", "website url", "web site url", "url", "company website",
        "company url", "homepage", "home page", "domain", "company domain",
        "company domain name", "webseite", "site web", "sitio web",
    ),
    "lead_source": (
        "lead source", "leadsource", "lead_source", "source of lead",
    ),
    "utm_source": ("utm_source", "utm source", "utmsource"),
    "utm_medium": ("utm_medium", "utm medium", "utmmedium"),
    "utm_campaign": ("utm_campaign", "utm campaign", "utmcampaign"),
    "utm_term": ("utm_term", "utm term", "utmterm"),
    "utm_content": ("utm_content", "utm content", "utmcontent"),
}

_PUNCTUATION = re.compile(r"[\W_]+")


def normalize_header(text: str) -> str:
    """`text` folded for matching: lower case, no accents, punctuation runs as one space.

    "E-Mail Address*" → "e mail address"; "Country/Region" → "country region";
    "utm_source" → "utm source"; "Prénom" → "prenom".
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_PUNCTUATION.sub(" ", plain).split())


SYNONYMS: dict[str, str] = {
    normalize_header(spelling): name
    for name, spellings in _SPELLINGS.items()
    for spelling in (name, *spellings)
}


@dataclass(frozen=True)
class ColumnMap:
    """Which column fills which contact field.

    `fields`: column index → field name, in column order; always holds "email".
    `unknown`: headers no synonym or override maps; reported to the user, not read.
    `ignored`: headers skipped on purpose: `--map HEADER=-`, or a synonym of a field that
    an override gave to another column.
    """

    fields: dict[int, str]
    unknown: list[str]
    ignored: list[str]


def map_columns(header: list[str], overrides: Mapping[str, str], *, file: str) -> ColumnMap:
    """Map `header` to contact fields by synonyms, with `overrides` (`--map`) taking precedence.

    Raises InputError for an override naming a missing header or an unknown field, or for two
    columns filling one field; CsvError when no column holds the e-mail.
    """
    forced = _resolve_overrides(header, overrides, file)
    fields = {index: name for index, name in forced.items() if name is not None}
    ignored = [_label(header, index) for index, name in forced.items() if name is None]
    unknown: list[str] = []
    candidates: dict[str, list[int]] = {}
    for index, text in enumerate(header):
        if index in forced:
            continue
        name = SYNONYMS.get(normalize_header(text))
        if name is None:
            unknown.append(_label(header, index))
        elif name in fields.values():
            ignored.append(_label(header, index))
        else:
            candidates.setdefault(name, []).append(index)
    for name, indexes in candidates.items():
        if len(indexes) > 1:
            raise _clash(header, name, indexes, file)
        fields[indexes[0]] = name
    if "email" not in fields.values():
        raise _no_email(header, file)
    return ColumnMap(fields=dict(sorted(fields.items())), unknown=unknown, ignored=ignored)


def _resolve_overrides(
    header: list[str], overrides: Mapping[str, str], file: str,
) -> dict[int, str | None]:
    """Column index → field (None: ignore) for each `--map HEADER=field`."""
    forced: dict[int, str | None] = {}
    for text, target in overrides.items():
        index = _find_header(header, text, file)
        name = _check_field(text, target, file)
        if name is not None and name in forced.values():
            other = next(i for i, n in forced.items() if n == name)
            raise InputError(
                f"--map gives field {name!r} to two columns: {header[other]!r} and "
                f"{header[index]!r}", file=file, field=name,
            )
        forced[index] = name
    return forced


def _find_header(header: list[str], text: str, file: str) -> int:
    """The index of the one column whose header is `text` (exactly, else once normalised)."""
    wanted = text.strip()
    matches = [i for i, h in enumerate(header) if h == wanted]
    if not matches:
        folded = normalize_header(wanted)
        matches = [i for i, h in enumerate(header) if folded and normalize_header(h) == folded]
    if not matches:
        raise InputError(
            f"--map {text!r}: no such column; the headers are: {_listing(header)}", file=file,
        )
    if len(matches) > 1:
        columns = " and ".join(str(i + 1) for i in matches)
        raise InputError(
            f"--map {text!r}: ambiguous, the header appears in columns {columns}; "
            "rename one in the file", file=file,
        )
    return matches[0]


def _check_field(text: str, target: str, file: str) -> str | None:
    """The field `--map text=target` names, None for "ignore"; InputError if unknown."""
    name = target.strip().lower()
    if name in IGNORE:
        return None
    if name not in CONTACT_FIELD_NAMES:
        raise InputError(
            f"--map {text}={target}: unknown field {target!r}; the fields are: "
            f"{', '.join(CONTACT_FIELD_NAMES)} (or '-' to ignore the column)", file=file,
        )
    return name


def _clash(header: list[str], name: str, indexes: list[int], file: str) -> InputError:
    labels = " and ".join(f"{_label(header, i)!r} (column {i + 1})" for i in indexes)
    return InputError(
        f"columns {labels} all map to field {name!r}; choose one with "
        f"--map '{header[indexes[-1]]}=-' (ignore it) or map it to another field",
        file=file, field=name,
    )


def _no_email(header: list[str], file: str) -> CsvError:
    hint = ""
    if any("@" in h for h in header):
        hint = " (the first row holds an e-mail address: is the header row missing?)"
    return CsvError(
        f"no email column (headers: {_listing(header)}); use --map HEADER=email{hint}",
        file=file,
    )


def _label(header: list[str], index: int) -> str:
    """How a column is named to the user: its header, or its position when it has none."""
    return header[index] or f"(column {index + 1}, no header)"


def _listing(header: list[str]) -> str:
    return ", ".join(repr(_label(header, i)) for i in range(len(header))) or "none"
