"""mops contact fields ↔ Salesforce Contact fields.

The org needs these custom fields on Contact (text, 255): ``Company__c``, ``Website__c``
(URL), ``UTM_Source__c``, ``UTM_Medium__c``, ``UTM_Campaign__c``, ``UTM_Term__c``,
``UTM_Content__c``; and ``Mops_Key__c`` (text 255, External ID, Unique) on Contact and on
Campaign, which makes creates idempotent upserts.

LastName is required on a Contact. A contact created or updated without one gets
`NO_LASTNAME`, which reads back as empty: to mops the field is empty, to Salesforce the record
is valid. (A contact whose real last name is "[not provided]" reads back empty too.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.changes import FieldValues

CONTACT_FIELDS: dict[str, str] = {
    "firstname": "FirstName",
    "lastname": "LastName",
    "company": "Company__c",
    "jobtitle": "Title",
    "phone": "Phone",
    "country": "MailingCountry",   # free text: MailingCountryCode needs State/Country picklists
    "city": "MailingCity",
    "website": "Website__c",
    "lead_source": "LeadSource",
    "utm_source": "UTM_Source__c",
    "utm_medium": "UTM_Medium__c",
    "utm_campaign": "UTM_Campaign__c",
    "utm_term": "UTM_Term__c",
    "utm_content": "UTM_Content__c",
}
KEY_FIELD = "Email"
EXTERNAL_ID = "Mops_Key__c"
NO_LASTNAME = "[not provided]"
# What a lookup by e-mail needs, and what a read returns.
ID_FIELDS = ("Id", KEY_FIELD, EXTERNAL_ID)
READ_FIELDS = (*ID_FIELDS, *CONTACT_FIELDS.values())


def external_key(email: str) -> str:
    """The ``Mops_Key__c`` of a contact: its e-mail, lower-cased (Salesforce matches e-mails
    case-insensitively, so mops does too)."""
    return email.lower()


def unknown_field(fields: Mapping[str, Any]) -> str | None:
    """Why these fields cannot be written, or None if they all map to Salesforce."""
    unknown = sorted(set(fields) - CONTACT_FIELDS.keys())
    return f"field {unknown[0]!r} is not a writable contact field" if unknown else None


def to_salesforce(fields: FieldValues, *, creating: bool) -> dict[str, str | None]:
    """Salesforce values for mops `fields` (known names only): empty is null; a create leaves
    empty fields out, and LastName is never left empty."""
    values = {CONTACT_FIELDS[name]: value or None for name, value in fields.items()}
    if creating:
        values = {name: value for name, value in values.items() if value is not None}
        values.setdefault("LastName", NO_LASTNAME)
    elif "LastName" in values and values["LastName"] is None:
        values["LastName"] = NO_LASTNAME
    return values


def from_salesforce(row: Mapping[str, Any]) -> FieldValues:
    """The non-empty mops fields of a Contact row from a query."""
    fields: FieldValues = {}
    for name, api_name in CONTACT_FIELDS.items():
        value = row.get(api_name)
        if value is not None and value != "" and not (api_name == "LastName"
                                                      and value == NO_LASTNAME):
            fields[name] = str(value)
    return fields
