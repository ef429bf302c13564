"""The Salesforce adapter: the `tools.crm.CRM` protocol over Salesforce's REST API.

Contacts by e-mail, lists as Campaigns, membership as CampaignMembers; writes through sObject
Collections (200 records a request, ``allOrNone: false``); creates idempotent by an upsert on
the ``Mops_Key__c`` external id. A wire-level fake ships in `tools.fakes.salesforce`.

Errors, besides per-item `WriteResult` errors:

    ToolError
    ├── AuthFailed (tools.http)   401 INVALID_SESSION_ID; 403 other than a request limit
    ├── SalesforceRejected        a request refused as a whole (HTTP 4xx): not retried
    └── SystemFault
        └── RetriesExhausted      429, 5xx, dropped connections after the retries; a spent
                                  daily limit (403 REQUEST_LIMIT_EXCEEDED) at once
"""

from tools.salesforce._api import SalesforceRejected
from tools.salesforce._crm import SalesforceCRM
from tools.salesforce._fields import CONTACT_FIELDS, NO_LASTNAME

__all__ = ["CONTACT_FIELDS", "NO_LASTNAME", "SalesforceCRM", "SalesforceRejected"]
