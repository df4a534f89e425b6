"""``shopmind serve``: the HTTP API, storefront and dashboard (uvicorn)."""

from __future__ import annotations

import typer

from shopmind.cli.common import console, err_console, settings


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    host: str = typer.Option(None, help="Interface to bind (default settings.server.host = 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default settings.server.port = 8000)."),
    workers: int = typer.Option(None, min=1, help="Worker processes (default settings.server.workers)."),
    web_read_key: str = typer.Option(
        None,
        "--web-read-key",
        help="A READ key injected into the storefront page (demo); without it the page asks for one.",
    ),
) -> None:
    """Serve the API (``/docs``), the storefront (``/``) and the dashboard (``/dashboard``)."""
    from shopmind.api.server import run_server

    s = settings()
    host = host or s.server.host
    port = port or s.server.port
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(f"[yellow]warning:[/] binding {host}: the API is reachable from other machines")
    console.print(
        f"[bold]storefront[/] http://{host}:{port}/   [bold]dashboard[/] http://{host}:{port}/dashboard   "
        f"[bold]API docs[/] http://{host}:{port}/docs"
    )
    run_server(s, host, port, workers, web_read_key=web_read_key)
