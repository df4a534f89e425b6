"""``shopmind serve``: the HTTP API, storefront and dashboard (uvicorn)."""

from __future__ import annotations

import typer

from shopmind.cli.common import console, err_console, open_configured_store, settings


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: str = typer.Option(None, help="Interface to bind (default settings.server.host = 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default settings.server.port = 8000)."),
    workers: int = typer.Option(None, min=1, help="Worker processes (default settings.server.workers)."),
    web_read_key: str = typer.Option(
        None,
        "--web-read-key",
        help="An unbound READ key published in the storefront page; without it the page asks for one. "
        "Any other key (ingest, admin, bound to a customer, revoked) is refused.",
    ),
    demo_sign_in: bool = typer.Option(
        False,
        "--demo-sign-in",
        help="Demo only: the page gets customer tokens for a few customers so its switcher can sign in "
        "as them — anyone reaching the server sees those customers' histories.",
    ),
) -> None:
    """Serve the API (``/docs``), the storefront (``/``) and the dashboard (``/dashboard``)."""
    from shopmind.api.auth import check_web_read_key
    from shopmind.api.server import check_port_free, run_server

    s = settings()
    host = host or s.server.host
    port = port or s.server.port
    check_port_free(host, port)
    if web_read_key:  # refuse before binding the port: the page would publish this key to everyone
        store = open_configured_store(s)
        try:
            check_web_read_key(store, web_read_key)
        finally:
            store.close()
    if demo_sign_in and not web_read_key:
        err_console.print("[yellow]warning:[/] --demo-sign-in has no effect without --web-read-key")
    elif demo_sign_in:
        err_console.print("[yellow]warning:[/] demo sign-in publishes customer tokens of a few customers")
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(f"[yellow]warning:[/] binding {host}: the API is reachable from other machines")
    console.print(
        f"[bold]storefront[/] http://{host}:{port}/   [bold]dashboard[/] http://{host}:{port}/dashboard   "
        f"[bold]API docs[/] http://{host}:{port}/docs"
    )
    run_server(s, host, port, workers, web_read_key=web_read_key, demo_sign_in=demo_sign_in)
