"""``shopmind train``, ``shopmind models`` and ``shopmind demo`` (generate → ingest → train → serve)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from shopmind.cli.common import console, err_console, open_configured_store, settings


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("models")(models)
    app.command("demo")(demo)


class ComponentProgress:
    """A live line per training component: its name, elapsed time and the pipeline's latest message.

    The pipeline announces each component with ``training <name>`` (``pipeline.train_all``) and the
    component reports its steps through ``ctx.progress``; a finished component leaves one printed
    line (``✓ name  seconds  last step``), so a log or a non-terminal output shows one line each.
    """

    def __init__(self) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<10}"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[step]}"),
            console=console,
            transient=True,
        )
        from shopmind.capabilities import CAPABILITIES

        self._names = set(CAPABILITIES)
        self._task: Any = None
        self._name = ""
        self._started = 0.0
        self._step = ""

    def __enter__(self) -> ComponentProgress:
        self._progress.start()
        self._task = self._progress.add_task("preparing", step="")
        self._started = time.perf_counter()
        return self

    def message(self, msg: str) -> None:
        """One pipeline message: ``training <name>`` opens a component, anything else is its step."""
        name = msg.removeprefix("training ").strip()
        if msg.startswith("training ") and name in self._names:
            self._finish()
            self._name, self._step, self._started = name, "", time.perf_counter()
            self._progress.reset(self._task, description=name, step="")
            return
        self._step = msg[:100]
        self._progress.update(self._task, step=self._step)

    def _finish(self) -> None:
        if self._name:
            took = time.perf_counter() - self._started
            self._progress.console.print(f"[green]✓[/] {self._name:<10} {took:7.1f} s  {self._step}")
            self._name = ""

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self._finish()
        elif self._name:
            self._progress.console.print(
                f"[red]✗[/] {self._name:<10} failed (last step: {self._step or 'none'})"
            )
        self._progress.stop()


def _train(s, store, components: list[str] | None) -> str:
    from shopmind.capability import TrainContext
    from shopmind.ingest.quality_cache import ensure_quality_report
    from shopmind.pipeline import train_all
    from shopmind.store.artifacts import ArtifactStore

    artifacts = ArtifactStore(s.artifacts_dir)
    with ComponentProgress() as shown:
        ctx = TrainContext(store=store, settings=s, progress=shown.message)
        run_id = train_all(ctx, artifacts, components)
    with console.status("data-quality report"):
        try:  # recomputed only if the data changed since the last ingest; never fails a published run
            ensure_quality_report(store, s.reports_dir)
        except Exception as exc:  # reported; the dashboard recomputes on demand
            err_console.print(f"[yellow]data-quality report not updated:[/] {type(exc).__name__}: {exc}")
    manifest = next((m for m in artifacts.runs() if m.get("id") == run_id), {})
    table = Table(title=f"training run {run_id}")
    table.add_column("component")
    table.add_column("seconds", justify="right")
    table.add_column("details")
    for name, info in manifest.get("components", {}).items():
        details = ", ".join(
            f"{k}={v}" for k, v in info.items() if k != "seconds" and not isinstance(v, dict | list)
        )
        table.add_row(name, f"{info.get('seconds', 0):.1f}", details[:90])
    console.print(table)
    return run_id


def train(
    component: list[str] = typer.Option(
        None, "--component", help="Train only these (recommend, search, assistant, forecast)."
    ),
) -> None:
    """Train the configured models on the store's data and publish them as the current version."""
    s = settings()
    store = open_configured_store(s)
    try:
        _train(s, store, component or None)
    finally:
        store.close()


def models() -> None:
    """List training runs (newest first) and which one is current."""
    from shopmind.store.artifacts import ArtifactStore

    artifacts = ArtifactStore(settings().artifacts_dir)
    current = artifacts.current()
    table = Table(title="model versions")
    for col in ("run", "status", "created", "components", "error"):
        table.add_column(col)
    for m in artifacts.runs():
        mark = " (current)" if current is not None and m.get("id") == current.id else ""
        table.add_row(
            f"{m.get('id')}{mark}",
            str(m.get("status")),
            str(m.get("created_at", "")),
            ", ".join(m.get("components", {})),
            str(m.get("error") or "")[:60],
        )
    console.print(table)


def demo(
    size: str = typer.Option("demo", help="Synthetic shop size preset: tiny, demo or large."),
    seed: int = typer.Option(42, help="Seed of the synthetic shop."),
    data_dir: Path = typer.Option(Path("var/demo-data"), help="Where the generated files go."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the web service at the end."),
    fresh: bool = typer.Option(False, "--fresh", help="Regenerate and re-ingest even if the data exists."),
    host: str = typer.Option(None, help="Interface to bind (default settings.server.host = 127.0.0.1)."),
    port: int = typer.Option(None, min=1, max=65535, help="Port (default settings.server.port = 8000)."),
) -> None:
    """The whole pipeline on the synthetic demo shop: generate → ingest → quality → train → serve."""
    from shopmind.api.server import check_port_free
    from shopmind.datasets.synthetic import ShopConfig, generate
    from shopmind.ingest import ingest_directory
    from shopmind.ingest.quality import render_quality
    from shopmind.ingest.quality_cache import refresh_quality_report

    s = settings()
    host = host or s.server.host
    port = port or s.server.port
    if serve:
        check_port_free(host, port)  # a busy port is reported before minutes of training, not after
    marker = data_dir / f".generated-{size}-{seed}"
    if fresh or not marker.exists():
        console.rule(f"1/4 generate the {size} shop (seed {seed})")
        data_dir.mkdir(parents=True, exist_ok=True)
        generate(ShopConfig.preset(size, seed=seed), data_dir)
        marker.touch()
    else:
        console.print(f"using the generated shop in {data_dir} (--fresh to regenerate)")

    store = open_configured_store(s)
    try:
        console.rule("2/4 ingest")
        reports = ingest_directory(store, data_dir)
        for report in reports:
            console.print(report.summary())
        quality = refresh_quality_report(store, s.reports_dir)  # the dashboard's cached report
        render_quality(quality, console)

        console.rule("3/4 train")
        _train(s, store, None)
    finally:
        store.close()

    if not serve:
        console.print("[green]demo pipeline finished[/] (--no-serve: not starting the web service)")
        return
    console.rule("4/4 serve")
    from shopmind.api.auth import ensure_demo_keys
    from shopmind.api.server import run_server

    store = open_configured_store(s)
    try:
        keys = ensure_demo_keys(store)
    finally:
        store.close()
    url = f"http://{host}:{port}"
    console.print(
        f"[bold]storefront[/]  {url}/\n[bold]dashboard[/]   {url}/dashboard\n[bold]API docs[/]    {url}/docs"
    )
    for scope, secret in keys.items():
        console.print(f"[bold]{scope} key[/]  {secret}")
    err_console.print("press Ctrl+C to stop")
    run_server(s, host, port, s.server.workers, web_read_key=keys["read"], demo_sign_in=True)
