"""The sandbox CRM: a local CRM on SQL (SQLite or PostgreSQL), seeded with demo data."""

from tools.sandbox._crm import SandboxCRM
from tools.sandbox._schema import CONTACTS, LIST_MEMBERS, LISTS, METADATA

__all__ = ["CONTACTS", "LISTS", "LIST_MEMBERS", "METADATA", "SandboxCRM"]
