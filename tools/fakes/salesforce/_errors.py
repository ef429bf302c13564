"""How the fake refuses: a whole request (`ApiError`), or one record of a batch (`ItemError`).

    ApiError    HTTP 4xx with Salesforce's error array ``[{"message": ..., "errorCode": ...}]``
    ItemError   one record's entry in a Collections answer:
                ``{"success": false, "errors": [{"statusCode", "message", "fields"}]}``
"""

from __future__ import annotations

from collections.abc import Sequence


class ApiError(Exception):
    """The request as a whole is refused with `status` and one error of the array."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> list[dict[str, str]]:
        """The error array Salesforce answers."""
        return [{"message": self.message, "errorCode": self.code}]


class ItemError(Exception):
    """One record of a Collections request failed; the others carry on (allOrNone false)."""

    def __init__(self, code: str, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, list(fields)

    def entry(self) -> dict[str, object]:
        """The error as it appears in the record's ``errors`` array."""
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}
