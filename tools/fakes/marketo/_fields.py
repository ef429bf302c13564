"""The lead fields of the fake instance, as ``GET /rest/v1/leads/describe.json`` shows them.

Standard Marketo fields, plus five custom string fields for UTM parameters (utmSource, …),
the names `tools.marketo.FIELD_MAP` expects.
"""

from __future__ import annotations

from typing import Any

# (REST name, display name, data type, read-only, custom)
_TABLE: tuple[tuple[str, str, str, bool, bool], ...] = (
    ("id", "Id", "integer", True, False),
    ("email", "Email Address", "email", False, False),
    ("firstName", "First Name", "string", False, False),
    ("lastName", "Last Name", "string", False, False),
    ("company", "Company Name", "string", False, False),
    ("title", "Job Title", "string", False, False),
    ("phone", "Phone Number", "phone", False, False),
    ("country", "Country", "string", False, False),
    ("city", "City", "string", False, False),
    ("website", "Website", "url", False, False),
    ("leadSource", "Lead Source", "string", False, False),
    ("createdAt", "Created At", "datetime", True, False),
    ("updatedAt", "Updated At", "datetime", True, False),
    ("utmSource", "UTM Source", "string", False, True),
    ("utmMedium", "UTM Medium", "string", False, True),
    ("utmCampaign", "UTM Campaign", "string", False, True),
    ("utmTerm", "UTM Term", "string", False, True),
    ("utmContent", "UTM Content", "string", False, True),
)

FIELDS: frozenset[str] = frozenset(row[0] for row in _TABLE)
WRITABLE: frozenset[str] = frozenset(row[0] for row in _TABLE if not row[3])
DEFAULT_FIELDS = ("id", "email", "updatedAt", "createdAt", "firstName", "lastName")


def describe() -> list[dict[str, Any]]:
    """The ``result`` of the describe call (``LeadAttribute`` records)."""
    return [
        {"id": number, "displayName": label, "dataType": kind,
         **({"length": 255} if kind in ("string", "email", "phone", "url") else {}),
         "rest": {"name": name, "readOnly": read_only},
         "soap": {"name": name[0].upper() + name[1:], "readOnly": read_only}}
        for number, (name, label, kind, read_only, _custom) in enumerate(_TABLE, start=1)
    ]
