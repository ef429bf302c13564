"""The fake org's schema: the sObjects mops uses, their fields, and the request bodies.

Field names are matched case-insensitively, as Salesforce does, and answered in their
canonical spelling. Contact carries the custom fields mops writes (``Company__c``,
``Website__c``, ``UTM_*__c``) and ``Mops_Key__c``, a unique external id; Campaign has a
``Mops_Key__c`` too, so that creating a list can be an idempotent upsert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict

FieldType = Literal["id", "string", "email", "url", "phone", "picklist", "boolean", "reference"]
Value = str | bool | None


@dataclass(frozen=True)
class FieldSpec:
    """One field of an sObject, as describe shows it."""

    name: str
    label: str
    type: FieldType = "string"
    length: int = 255
    createable: bool = True
    updateable: bool = True
    required: bool = False            # not nillable on create and update
    external_id: bool = False         # unique; usable in an upsert URL
    reference_to: str | None = None   # for type "reference"


@dataclass(frozen=True)
class ObjectSpec:
    """One sObject type: its key prefix, fields and parent relationships."""

    name: str
    prefix: str
    fields: tuple[FieldSpec, ...]
    # relationship name -> the reference field holding the parent's id
    parents: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def _lower(self) -> dict[str, FieldSpec]:
        return {f.name.lower(): f for f in self.fields}

    def field(self, name: str) -> FieldSpec | None:
        """The field called `name`, whatever its case."""
        return self._lower.get(name.lower())


_ID = FieldSpec("Id", "Record ID", "id", 18, createable=False, updateable=False)
_KEY = FieldSpec("Mops_Key__c", "mops key", external_id=True)

CONTACT = ObjectSpec("Contact", "003", (
    _ID,
    FieldSpec("Email", "Email", "email", 80),
    FieldSpec("FirstName", "First Name", length=40),
    FieldSpec("LastName", "Last Name", length=80, required=True),
    FieldSpec("Title", "Title", length=128),
    FieldSpec("Phone", "Business Phone", "phone", 40),
    FieldSpec("MailingCity", "Mailing City", length=40),
    FieldSpec("MailingCountry", "Mailing Country", length=80),
    FieldSpec("LeadSource", "Lead Source", "picklist"),
    FieldSpec("Company__c", "Company"),
    FieldSpec("Website__c", "Website", "url"),
    FieldSpec("UTM_Source__c", "UTM Source"),
    FieldSpec("UTM_Medium__c", "UTM Medium"),
    FieldSpec("UTM_Campaign__c", "UTM Campaign"),
    FieldSpec("UTM_Term__c", "UTM Term"),
    FieldSpec("UTM_Content__c", "UTM Content"),
    _KEY,
))

CAMPAIGN = ObjectSpec("Campaign", "701", (
    _ID,
    FieldSpec("Name", "Campaign Name", length=80, required=True),
    FieldSpec("IsActive", "Active", "boolean"),
    _KEY,
))

CAMPAIGN_MEMBER = ObjectSpec("CampaignMember", "00v", (
    _ID,
    FieldSpec("CampaignId", "Campaign ID", "reference", 18, updateable=False, required=True,
              reference_to="Campaign"),
    # required here: the fake has no Leads, so every member is a Contact
    FieldSpec("ContactId", "Contact ID", "reference", 18, updateable=False, required=True,
              reference_to="Contact"),
    FieldSpec("Status", "Status", "picklist", 40),
), parents={"Contact": "ContactId", "Campaign": "CampaignId"})

SCHEMA: dict[str, ObjectSpec] = {spec.name: spec for spec in (CONTACT, CAMPAIGN, CAMPAIGN_MEMBER)}
BY_PREFIX: dict[str, ObjectSpec] = {spec.prefix: spec for spec in SCHEMA.values()}


def object_spec(name: str) -> ObjectSpec | None:
    """The sObject called `name`, whatever its case."""
    return next((s for s in SCHEMA.values() if s.name.lower() == name.lower()), None)


# --- request bodies (validated strictly: a wrong shape is a 400) -----------------------

class Attributes(BaseModel):
    """The ``attributes`` map every record in a Collections request carries."""

    model_config = ConfigDict(extra="forbid")

    type: str
    url: str | None = None
    referenceId: str | None = None


class SObjectIn(BaseModel):
    """One record of a Collections request: its attributes, then field values."""

    model_config = ConfigDict(extra="allow")

    attributes: Attributes

    def values(self) -> dict[str, object]:
        """The field values as sent (every key but ``attributes``)."""
        return dict(self.model_extra or {})


class CollectionRequest(BaseModel):
    """The body of POST / PATCH ``/composite/sobjects[/{type}/{externalIdField}]``."""

    model_config = ConfigDict(extra="forbid")

    allOrNone: bool = False
    records: list[SObjectIn]
