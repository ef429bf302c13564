"""The Marketo adapter: the `CRM` protocol on Marketo's REST API (leads, static lists)."""

from tools.marketo._crm import MARKETO_LIMIT, MarketoCRM
from tools.marketo._errors import MarketoError
from tools.marketo._fields import FIELD_MAP
from tools.marketo._lists import Folder

__all__ = ["FIELD_MAP", "MARKETO_LIMIT", "Folder", "MarketoCRM", "MarketoError"]
