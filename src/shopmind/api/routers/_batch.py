"""Per-row validation of batch writes, shared by items, users, events, orders and documents.

Semantics (the same on every batch route):

* the body must be a JSON array of objects (else 422 from request validation);
* every row is validated on its own with the record model; each failure is reported as
  ``{"index", "field", "message"}``;
* ``partial=false`` (default): all or nothing — one bad row → 422 listing every bad row, nothing
  is written;
* ``partial=true``: the valid rows are written in one transaction and the response lists the
  rejected rows (200); a batch with no valid row is still a 422;
* nothing is ever half-applied silently.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError

from shopmind.api.schemas import BatchResult, Rejected
from shopmind.data.schema import Record, error_field
from shopmind.errors import CapacityError
from shopmind.store.base import WriteResult

R = TypeVar("R", bound=Record)
MAX_BATCH = 10_000


class BatchRejected(Exception):
    """Raised when a batch is refused; carries the per-row errors (mapped to 422)."""

    def __init__(self, received: int, rejected: list[dict[str, Any]]) -> None:
        self.received = received
        self.rejected = rejected
        super().__init__(f"{len(rejected)} of {received} rows are invalid")


def validate_rows(rows: list[Any], model: type[R]) -> tuple[list[tuple[int, R]], list[dict[str, Any]]]:
    if len(rows) > MAX_BATCH:
        raise CapacityError(
            "batch too large", value=len(rows), expected=f"at most {MAX_BATCH} rows per request"
        )
    good: list[tuple[int, R]] = []
    bad: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            bad.append({"index": i, "field": None, "message": "expected a JSON object"})
            continue
        try:
            good.append((i, model.model_validate(row)))
        except ValidationError as exc:
            for err in exc.errors(include_input=False, include_url=False):
                bad.append({"index": i, "field": error_field(err), "message": err.get("msg", "invalid")})
    return good, bad


def decide(received: int, good: list[Any], bad: list[dict[str, Any]], partial: bool) -> None:
    """Raise :class:`BatchRejected` unless the batch may be applied (see the module docstring)."""
    if bad and (not partial or not good):
        raise BatchRejected(received, bad)
    if not good and not received:
        raise BatchRejected(0, [{"index": 0, "field": None, "message": "empty batch"}])


def batch_result(
    received: int, accepted: int, write: WriteResult, bad: list[dict[str, Any]], **extra: int
) -> BatchResult:
    """The response body of a batch write."""
    return BatchResult(
        received=received,
        accepted=accepted,
        inserted=write.inserted,
        updated=write.updated,
        rejected=[Rejected.model_validate(r) for r in bad],
        **extra,
    )
