"""The HubSpot adapter: the `tools.crm.CRM` protocol on HubSpot's CRM v3 API.

    crm = HubSpotCRM(token=SecretStr("pat-na1-..."), limiter=limiter)
    crm.create_contacts([Record(key="ada@example.com", fields={"firstname": "Ada"})])

Contacts are keyed by e-mail; mops field names map to HubSpot properties as `PROPERTY_OF`
says. Its fake, for tests and dry runs, is `tools.fakes.hubspot`.
"""

from tools.hubspot._client import DAILY_WAIT, classify
from tools.hubspot._crm import DEFAULT_URL, HubSpotCRM
from tools.hubspot._errors import DailyLimitReached, UnexpectedAnswer
from tools.hubspot._fields import PROPERTY_OF

__all__ = [
    "DAILY_WAIT",
    "DEFAULT_URL",
    "PROPERTY_OF",
    "DailyLimitReached",
    "HubSpotCRM",
    "UnexpectedAnswer",
    "classify",
]
