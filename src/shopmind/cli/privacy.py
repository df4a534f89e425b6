"""``shopmind users erase`` and ``shopmind privacy purge|audit``: erasure, retention, their audit log."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from shopmind.cli.common import console, err_console, open_configured_store, settings

users_app = typer.Typer(help="Customers: erase one customer's personal data.", no_args_is_help=True)
privacy_app = typer.Typer(
    help="Privacy: retention purge (settings.privacy) and the audit log.", no_args_is_help=True
)


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(privacy_app, name="privacy")


def _operator() -> str:
    """Who ran the command, for the audit record: the operating-system account."""
    try:
        return f"cli:{getpass.getuser()}"[:128]
    except Exception:  # no user database entry (some containers)
        return "cli"


def _counts_table(title: str, counts: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column("data")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, str(n))
    return table


@users_app.command("erase")
def erase(
    user_id: str = typer.Argument(..., help="The customer id to erase."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Erase a customer: events, reviews, searches, conversations, bound keys, profile; orders anonymised.

    Writes an audit record without personal data. Trained models forget the customer at the next
    `shopmind train`.
    """
    import re

    from shopmind.data.schema import ID_PATTERN
    from shopmind.errors import DataError
    from shopmind.privacy import erase_customer

    if re.fullmatch(ID_PATTERN, user_id) is None:
        raise DataError("not a valid customer id", value=user_id, expected=f"an id matching {ID_PATTERN}")
    if not yes and not typer.confirm(
        f"Erase everything stored about customer {user_id!r}? This cannot be undone"
    ):
        raise typer.Abort()
    store = open_configured_store(settings())
    try:
        with console.status(f"erasing {user_id}…"):
            report = erase_customer(store, user_id, requested_by=_operator())
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps({"user_id": user_id} | report.to_dict()))
        return
    console.print(_counts_table(f"erased customer {user_id}", report.counts))
    console.print(f"audit record {report.audit_id} (subject {report.subject_hash[:16]}…)")
    err_console.print("trained models still hold this customer until the next `shopmind train`")


@privacy_app.command("purge")
def purge(
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Delete events and conversations older than privacy.event_retention_days / conversation_retention_days."""
    from shopmind.privacy import apply_retention

    s = settings()
    store = open_configured_store(s)
    try:
        with console.status("applying retention…"):
            result = apply_retention(store, s.privacy, requested_by=_operator())
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps(result.to_dict()))
        return
    if not result.active:
        console.print(
            "retention is off: set privacy.event_retention_days and/or privacy.conversation_retention_days"
        )
        return
    console.print(_counts_table("retention purge", result.counts))
    for what, cut in (("events", result.events_before), ("conversations", result.conversations_before)):
        if cut is not None:
            console.print(f"{what} before {cut.isoformat(timespec='seconds')}")


@privacy_app.command("audit")
def audit(
    limit: int = typer.Option(50, "--limit", min=1, max=100_000, help="Newest records to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the records as JSON."),
) -> None:
    """The privacy audit log (erasures and purges): time, action, subject hash, who asked, counts."""
    store = open_configured_store(settings())
    try:
        records = store.privacy_audit(limit=limit)
    finally:
        store.close()
    if as_json:
        console.print_json(json.dumps(records, default=_iso))
        return
    table = Table(title="privacy audit")
    for col in ("id", "at", "action", "subject", "requested by", "deleted"):
        table.add_column(col)
    for r in records:
        table.add_row(
            str(r["id"]),
            r["at"].isoformat(timespec="seconds"),
            r["action"],
            (r["subject_hash"] or "")[:16],
            r["requested_by"],
            ", ".join(f"{k}={v}" for k, v in r["details"].items() if v),
        )
    console.print(table)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)
