"""The ``shopmind`` command line (typer + rich).

Commands live in one module per capability; each module defines ``register(app, evaluate_app)``.
Modules import heavy libraries (torch, lightgbm, ...) inside command bodies so that ``--help`` is
instant. Errors derived from ``ShopmindError`` print as one red line and exit 2; ``--debug`` shows
the traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from shopmind.cli import (
    assistant,
    data,
    evaluate_recommend,
    forecast,
    generate,
    keys,
    privacy,
    recommend,
    search,
    serve,
    train,
)
from shopmind.cli.common import STATE, err_console
from shopmind.errors import ShopmindError

app = typer.Typer(
    name="shopmind",
    help="Self-hosted AI engine for online shops.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
evaluate_app = typer.Typer(help="Offline evaluation against public benchmarks.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")

COMMAND_MODULES = (
    data,
    generate,
    train,
    recommend,
    evaluate_recommend,
    search,
    assistant,
    forecast,
    serve,
    keys,
    privacy,
)
"""Each registers its commands, in this order (the order of ``shopmind --help``)."""


@app.callback()
def _root(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="TOML settings file (default ./shopmind.toml)."
    ),
    store: str | None = typer.Option(
        None, "--store", help="Store URL, overrides settings (e.g. sqlite:///shop.db)."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings and errors in logs."),
) -> None:
    STATE.config_path = config
    STATE.store_url = store
    STATE.debug = debug
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    from rich.logging import RichHandler

    logging.basicConfig(
        level=level, handlers=[RichHandler(console=err_console, show_path=False)], format="%(message)s"
    )
    for noisy in ("jieba", "httpx", "urllib3", "sentence_transformers", "numba", "bm25s", "statsforecast"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


for _module in COMMAND_MODULES:
    _module.register(app, evaluate_app)


def main() -> None:
    try:
        # standalone_mode=False makes click *return* the code of typer.Exit(n) instead of exiting.
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except ShopmindError as exc:
        if STATE.debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}")
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors and unexpected failures
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if STATE.debug:
            raise
        err_console.print(f"[bold red]error:[/] {type(exc).__name__}: {exc} (run with --debug for details)")
        sys.exit(1)
