"""The contact fields mops knows, with the labels people see."""

from __future__ import annotations

from tools.records import FieldInfo

CONTACT_FIELDS: tuple[FieldInfo, ...] = (
    FieldInfo(name="email", label="Email", writable=False),
    FieldInfo(name="firstname", label="First name"),
    FieldInfo(name="lastname", label="Last name"),
    FieldInfo(name="company", label="Company"),
    FieldInfo(name="jobtitle", label="Job title"),
    FieldInfo(name="phone", label="Phone"),
    FieldInfo(name="country", label="Country (ISO 3166 alpha-2)"),
    FieldInfo(name="city", label="City"),
    FieldInfo(name="website", label="Website"),
    FieldInfo(name="lead_source", label="Lead source"),
    FieldInfo(name="utm_source", label="UTM source"),
    FieldInfo(name="utm_medium", label="UTM medium"),
    FieldInfo(name="utm_campaign", label="UTM campaign"),
    FieldInfo(name="utm_term", label="UTM term"),
    FieldInfo(name="utm_content", label="UTM content"),
)

CONTACT_FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in CONTACT_FIELDS)
# The fields a write may set: every field but the key.
WRITABLE_FIELDS: tuple[str, ...] = tuple(f.name for f in CONTACT_FIELDS if f.writable)
