"""One exception hierarchy for the whole package.

Every error carries what was given, what was expected and where (file, line, field) when known, so
messages read: ``events.csv line 14, field 'price': got '-3', expected a number >= 0``.
The HTTP layer maps these classes to status codes in one place (``shopmind.api.errors``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a problem was found; every part is optional."""

    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return " ".join(parts)


class ShopmindError(Exception):
    """Base class of every error shopmind raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        value: object = None,
        expected: str | None = None,
        location: Location | None = None,
    ) -> None:
        self.message = message
        self.value = value
        self.expected = expected
        self.location = location or Location()
        super().__init__(self.render())

    def render(self) -> str:
        where = str(self.location)
        text = f"{where}: {self.message}" if where else self.message
        if self.value is not None:
            text += f" (got {self.value!r}"
            text += f", expected {self.expected})" if self.expected else ")"
        elif self.expected:
            text += f" (expected {self.expected})"
        return text


class ConfigError(ShopmindError):
    """A setting or hyper-parameter is invalid."""


class DataError(ShopmindError):
    """Input data is malformed or inconsistent."""


class UnknownIdError(ShopmindError, KeyError):
    """An external id (user, item, order, ...) is not known."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.render()


class NotFittedError(ShopmindError):
    """A model was used before ``fit`` or ``load``."""


class CapacityError(ShopmindError):
    """A request exceeds what an algorithm supports at this scale (e.g. EASE's dense item×item)."""


class StoreError(ShopmindError):
    """The store could not complete an operation."""


class ArtifactError(ShopmindError):
    """A model artifact is missing, incomplete or of an incompatible version."""


class AuthError(ShopmindError):
    """Missing or invalid credentials."""


class PermissionDenied(ShopmindError):
    """Valid credentials without the needed scope, or access to another customer's data."""
