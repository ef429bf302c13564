"""Contact fields: the names mops uses and the Marketo lead fields they are stored in.

The standard fields have the same REST names in every Marketo instance. The UTM fields are
custom fields, named here as the fake (`tools.fakes.marketo`) declares them; an instance
whose custom fields are named otherwise passes its own `field_map` to `MarketoCRM`.
Which mapped fields an instance really has comes from its ``leads/describe.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict

from tools.changes import FieldValues
from tools.fields import CONTACT_FIELDS
from tools.marketo._errors import MarketoError
from tools.records import FieldInfo

FIELD_MAP: Mapping[str, str] = MappingProxyType({
    "email": "email",
    "firstname": "firstName",
    "lastname": "lastName",
    "company": "company",
    "jobtitle": "title",
    "phone": "phone",
    "country": "country",
    "city": "city",
    "website": "website",
    "lead_source": "leadSource",
    "utm_source": "utmSource",
    "utm_medium": "utmMedium",
    "utm_campaign": "utmCampaign",
    "utm_term": "utmTerm",
    "utm_content": "utmContent",
})
KEY = "email"
_LABELS = {info.name: info.label for info in CONTACT_FIELDS}


class RestName(BaseModel):
    """How a lead field is named in the REST API, and whether it may be written."""

    model_config = ConfigDict(extra="ignore")

    name: str
    readOnly: bool = False


class LeadAttribute(BaseModel):
    """One field of ``GET /rest/v1/leads/describe.json`` (``LeadAttribute`` in the spec)."""

    model_config = ConfigDict(extra="ignore")

    id: int
    displayName: str
    dataType: str
    rest: RestName | None = None


class Schema:
    """The mops fields an instance has, and the conversions between mops and Marketo."""

    def __init__(self, attributes: Sequence[LeadAttribute],
                 field_map: Mapping[str, str] = FIELD_MAP) -> None:
        there = {a.rest.name: a for a in attributes if a.rest is not None}
        self.fields: list[FieldInfo] = []
        self._to: dict[str, str] = {}          # mops name -> Marketo name, fields it has
        self._missing: dict[str, str] = {}     # mops name -> Marketo name it lacks
        for name, marketo in field_map.items():
            found = there.get(marketo)
            if found is None or found.rest is None:
                self._missing[name] = marketo
                continue
            self._to[name] = marketo
            self.fields.append(FieldInfo(
                name=name, label=_LABELS.get(name, found.displayName), type=found.dataType,
                writable=name != KEY and not found.rest.readOnly))
        if KEY not in self._to:
            raise MarketoError("GET /rest/v1/leads/describe.json", "-",
                               f"the instance has no {field_map.get(KEY, KEY)!r} lead field")
        self._writable = {f.name for f in self.fields if f.writable}
        self.key_field = self._to[KEY]                   # what leads are looked up by
        self.names: list[str] = list(self._to.values())   # Marketo names, the key first

    def problem(self, fields: FieldValues) -> str | None:
        """Why `fields` cannot be written, or None if they can."""
        for name in fields:
            if name in self._writable:
                continue
            if name in self._missing:
                return (f"field {name!r} has no lead field in this Marketo instance "
                        f"(looked for {self._missing[name]!r})")
            if name in self._to:
                return f"field {name!r} is read-only in Marketo"
            return f"field {name!r} is not a writable contact field"
        return None

    def lead(self, key: str, fields: FieldValues, *, create: bool) -> dict[str, Any]:
        """The lead to send: the key, and the fields (empty ones left out on create, sent
        as null on update, which empties them)."""
        lead: dict[str, Any] = {self.key_field: key}
        for name, value in fields.items():
            if value or not create:
                lead[self._to[name]] = value or None
        return lead

    def values(self, lead: Mapping[str, Any]) -> FieldValues:
        """The non-empty mops fields of a lead read back (JSON or CSV), key excepted."""
        out: FieldValues = {}
        for name, marketo in self._to.items():
            value = lead.get(marketo)
            if name != KEY and value not in (None, ""):
                out[name] = str(value)
        return out

    def key_of(self, lead: Mapping[str, Any]) -> str:
        """The e-mail of a lead read back."""
        return str(lead.get(self.key_field) or "")
