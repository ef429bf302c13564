"""mops contact fields ↔ HubSpot contact properties.

Most fields are HubSpot's own properties under the same name. HubSpot has no writable
lead-source or UTM property on contacts (``hs_analytics_source`` is computed by HubSpot and
read-only), so those map to custom properties a portal creates for mops: ``lead_source``,
``utm_source``, ``utm_medium``, ``utm_campaign``, ``utm_term``, ``utm_content`` (single-line
text). A mapped property missing in the portal is left out of `describe_fields`, and a write
to it fails per item with HubSpot's PROPERTY_DOESNT_EXIST.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from tools.changes import FieldValues
from tools.fields import CONTACT_FIELDS
from tools.records import FieldInfo, Record

PROPERTY_OF: Mapping[str, str] = MappingProxyType({
    "email": "email",
    "firstname": "firstname",
    "lastname": "lastname",
    "company": "company",
    "jobtitle": "jobtitle",
    "phone": "phone",
    "country": "country",
    "city": "city",
    "website": "website",
    "lead_source": "lead_source",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
})
FIELD_OF: Mapping[str, str] = MappingProxyType({p: f for f, p in PROPERTY_OF.items()})
# The properties every read asks for.
READ_PROPERTIES: tuple[str, ...] = tuple(PROPERTY_OF.values())
KEY = "email"


def to_properties(fields: FieldValues, *, drop_empty: bool) -> dict[str, str] | str:
    """HubSpot properties for mops `fields`, or why they cannot be written.

    An empty value (None or "") is left out when creating (`drop_empty`) and sent as "" when
    updating: HubSpot clears a property set to the empty string.
    """
    properties: dict[str, str] = {}
    for name, value in fields.items():
        if name == KEY:
            return f"field {name!r} is the key: it cannot be written"
        prop = PROPERTY_OF.get(name)
        if prop is None:
            return f"field {name!r} is not a contact field mops maps to HubSpot"
        if value:
            properties[prop] = value
        elif not drop_empty:
            properties[prop] = ""
    return properties


def to_record(properties: Mapping[str, Any]) -> Record | None:
    """A record from a contact's properties (empty ones left out); None without an e-mail."""
    key = properties.get(KEY)
    if not key:
        return None
    fields: FieldValues = {FIELD_OF[p]: v for p, v in properties.items()
                           if p in FIELD_OF and p != KEY and isinstance(v, str) and v}
    return Record(key=key, fields=fields)


def describe(properties: Sequence[Mapping[str, Any]]) -> list[FieldInfo]:
    """The mops fields whose property the portal has, in mops' order, with HubSpot's labels."""
    by_name = {str(p.get("name")): p for p in properties if not p.get("archived")}
    infos: list[FieldInfo] = []
    for field in CONTACT_FIELDS:
        prop = by_name.get(PROPERTY_OF.get(field.name, ""))
        if prop is None:
            continue
        read_only = bool((prop.get("modificationMetadata") or {}).get("readOnlyValue"))
        infos.append(FieldInfo(name=field.name, label=str(prop.get("label") or field.label),
                               type=str(prop.get("type") or "string"),
                               writable=field.writable and not read_only))
    return infos
