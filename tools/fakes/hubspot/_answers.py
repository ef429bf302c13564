"""HubSpot's answers: error bodies (whole request), per-item errors (in a 207) and batches."""

from __future__ import annotations

import uuid
from typing import Any

from tools.fakes.hubspot._state import now_iso


class Refusal(Exception):
    """The request is refused as a whole: `status` with HubSpot's error body."""

    def __init__(self, status: int, message: str, category: str, *,
                 sub_category: str | None = None, errors: list[dict[str, Any]] | None = None,
                 context: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, category, sub_category=sub_category, errors=errors,
                               context=context)


def error_body(message: str, category: str, *, sub_category: str | None = None,
               errors: list[dict[str, Any]] | None = None,
               context: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The body of a refused request (the spec's `Error`, with HubSpot's ``status``)."""
    body: dict[str, Any] = {"status": "error", "message": message,
                            "correlationId": str(uuid.uuid4()), "category": category}
    if sub_category:
        body["subCategory"] = sub_category
    if errors:
        body["errors"] = errors
    if context:
        body["context"] = context
    return body


def item_error(message: str, category: str, context: dict[str, list[str]],
               sub_category: str | None = None) -> dict[str, Any]:
    """One per-item error of a 207 answer (the spec's `StandardError`)."""
    error: dict[str, Any] = {"status": "error", "category": category, "message": message,
                             "context": context, "errors": [], "links": {}}
    if sub_category:
        error["subCategory"] = sub_category
    return error


def batch(results: list[dict[str, Any]], errors: list[dict[str, Any]],
          started: str) -> tuple[int, dict[str, Any]]:
    """The status (200, or 207 with errors) and body of a batch answer."""
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                            "completedAt": now_iso(), "requestedAt": started}
    if not errors:
        return 200, body
    return 207, {**body, "errors": errors, "numErrors": len(errors)}


def bad_request(message: str, sub_category: str | None = None) -> Refusal:
    """A 400 VALIDATION_ERROR."""
    return Refusal(400, message, "VALIDATION_ERROR", sub_category=sub_category)


def not_found(message: str) -> Refusal:
    """A 404 OBJECT_NOT_FOUND."""
    return Refusal(404, message, "OBJECT_NOT_FOUND")
