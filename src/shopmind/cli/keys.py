"""``shopmind keys create|list|revoke|customer-token``: scoped API keys (only their hashes are
stored) and short-lived customer tokens for signed-in shoppers."""

from __future__ import annotations

import typer
from rich.table import Table

from shopmind.cli.common import console, err_console, open_configured_store, settings

keys_app = typer.Typer(help="Manage API keys (scopes: read, ingest, admin).", no_args_is_help=True)


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def create(
    scope: str = typer.Option(..., "--scope", help="read (browser-safe), ingest or admin."),
    user: str = typer.Option(None, "--user", help="Bind a read key to one customer id."),
    name: str = typer.Option(None, "--name", help="A label shown by `keys list`."),
) -> None:
    """Create a key and print its secret — the only time it is shown.

    Only the secret goes to standard output (the rest to standard error), so a script can keep it:
    ``READ_KEY=$(shopmind keys create --scope read)``.
    """
    from shopmind.api.auth import create_key

    store = open_configured_store(settings())
    try:
        record, secret = create_key(store, scope, name=name, user_id=user)
    finally:
        store.close()
    err_console.print(
        f"created key [bold]{record.id}[/] ({record.name}, scope {scope}{', user ' + user if user else ''})"
    )
    console.print(secret, soft_wrap=True, highlight=False)
    err_console.print("store the secret now: only its hash is kept and it cannot be shown again")


@keys_app.command("list")
def list_keys(
    all_keys: bool = typer.Option(False, "--all", help="Include revoked keys."),
) -> None:
    """List keys (id, name, scope, customer binding, prefix); secrets are never shown."""
    store = open_configured_store(settings())
    try:
        records = store.api_keys(include_revoked=all_keys)
    finally:
        store.close()
    table = Table(title="API keys")
    for col in ("id", "name", "scopes", "user", "prefix", "created", "revoked"):
        table.add_column(col)
    for r in records:
        table.add_row(
            r.id,
            r.name,
            ",".join(r.scopes),
            r.user_id or "",
            r.prefix + "…",
            r.created_at.isoformat(timespec="seconds") if r.created_at else "",
            r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "",
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key id shown by `keys list`.")) -> None:
    """Revoke a key; every server stops accepting it within 5 seconds (verification cache)."""
    from shopmind.errors import UnknownIdError

    store = open_configured_store(settings())
    try:
        done = store.revoke_api_key(key_id)
    finally:
        store.close()
    if not done:
        raise UnknownIdError("no active key with this id", value=key_id)
    console.print(f"revoked key {key_id}")


@keys_app.command("customer-token")
def customer_token(
    user: str = typer.Argument(..., help="The signed-in customer's id."),
    ttl: int = typer.Option(900, "--ttl", min=1, max=86_400, help="Lifetime in seconds (at most a day)."),
) -> None:
    """Mint a short-lived customer token (send it as X-Customer-Token next to the storefront's read key).

    The same as ``POST /customer-tokens`` with an ingest key; for scripts and testing the flow.
    """
    from shopmind.api.auth import CUSTOMER_TOKEN_HEADER, CustomerTokens

    store = open_configured_store(settings())
    try:
        token, expires = CustomerTokens(store).mint(user, ttl, key_id="cli")
    finally:
        store.close()
    console.print(token, soft_wrap=True, highlight=False)
    err_console.print(
        f"for customer {user}, valid until {expires.isoformat(timespec='seconds')}; header {CUSTOMER_TOKEN_HEADER}"
    )
