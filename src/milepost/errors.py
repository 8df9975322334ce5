"""Domain errors: one type per kind of refusal, mapped once to HTTP by the API and the web
shell, and to a one-line message plus exit code by the CLI.

Services raise these; they never return partial results. No Django import here so the CLI
and the engine side can use them too.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every refusal a user can cause. ``http_status`` is the API mapping."""

    http_status = 400
    title = "Request refused"

    def __init__(self, detail: str, *, errors: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: dict[str, list[str]] = {k: list(v) for k, v in (errors or {}).items()}


class InvalidInput(DomainError):
    """Input breaks a rule; ``errors`` maps each field to its messages."""

    http_status = 422
    title = "Invalid input"

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        return cls(f"{name}: {message}", errors={name: [message]})


class NotFound(DomainError):
    """The object does not exist *or is not visible to the actor* (never reveal which)."""

    http_status = 404
    title = "Not found"


class PermissionDenied(DomainError):
    """The object is visible but the actor's role does not allow this action."""

    http_status = 403
    title = "Forbidden"


class Conflict(DomainError):
    """The change conflicts with a rule over existing data (an alignment loop, a state)."""

    http_status = 409
    title = "Conflict"


class StaleVersion(DomainError):
    """The client's version (If-Match) is not the current one."""

    http_status = 412
    title = "Precondition failed"


class PreconditionRequired(DomainError):
    """A write needs If-Match and none was sent."""

    http_status = 428
    title = "Precondition required"
