"""``shopmind train``, ``shopmind models`` and ``shopmind demo`` (generate → ingest → train → serve)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from shopmind.capability import TrainProgress
from shopmind.cli.common import console, err_console, open_configured_store, settings


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("models")(models)
    app.command("demo")(demo)


class ComponentProgress(TrainProgress):
    """A rich progress bar per training component: name, bar with ``done/total unit`` where the
    component counts its steps (products embedded, recommender candidates, demand series), elapsed
    time, estimated time left and the latest step's text.

    It is the CLI's :class:`~shopmind.capability.TrainProgress` (the pipeline's ``plan`` / ``begin`` /
    ``end`` and the components' ``ctx.progress``); a finished component leaves one printed line
    (``✓ name  seconds  counts  last step``), so a log or a non-terminal output shows one line each.
    """

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.table import Column

        def fixed(width: int) -> Column:
            return Column(no_wrap=True, min_width=width)

        # the step text takes what is left of the line and is cut, never the counts and times
        self._progress = Progress(
            SpinnerColumn(table_column=fixed(1)),
            TextColumn("[bold]{task.description:<10}", table_column=fixed(10)),
            BarColumn(bar_width=24, table_column=fixed(24)),
            TextColumn("{task.fields[counts]:>24}", markup=False, table_column=fixed(24)),
            TimeElapsedColumn(table_column=fixed(7)),
            TextColumn("eta", table_column=fixed(3)),
            TimeRemainingColumn(table_column=fixed(7)),
            TextColumn(
                "{task.fields[step]}",
                markup=False,
                table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
            ),
            console=console,
            transient=True,
            expand=True,
        )
        self._tasks: dict[str, Any] = {}
        self._phase: dict[str, tuple[int | None, str]] = {}
        self._name = ""
        self._started = 0.0
        self._step = ""
        self._counts = ""

    def __enter__(self) -> ComponentProgress:
        self._progress.start()
        return self

    def _task(self, name: str) -> Any:
        if name not in self._tasks:
            self._tasks[name] = self._progress.add_task(
                name, total=None, start=False, step="waiting", counts=""
            )
        return self._tasks[name]

    def plan(self, components: Sequence[str]) -> None:
        for name in components:
            self._task(name)

    def begin(self, component: str) -> None:
        self._name, self._step, self._counts = component, "", ""
        self._started = time.perf_counter()
        self._progress.update(self._task(component), step="")
        self._progress.start_task(self._task(component))

    def message(self, text: str) -> None:
        if not self._name:
            return
        self._step = text[:100]
        self._progress.update(self._task(self._name), step=self._step)

    def count(self, done: int, total: int | None = None, unit: str = "") -> None:
        if not self._name:
            return
        task = self._task(self._name)
        self._counts = f"{done}/{total} {unit}" if total is not None else f"{done} {unit}"
        if self._phase.get(self._name) != (total, unit):  # a new phase: its own bar and rate
            self._phase[self._name] = (total, unit)
            self._progress.reset(task, total=total, completed=done, step=self._step, counts=self._counts)
        else:
            self._progress.update(task, completed=done, counts=self._counts)

    def end(self, component: str, ok: bool = True) -> None:
        took = time.perf_counter() - self._started
        task = self._task(component)
        if ok:
            counts = f"{self._counts}  " if self._counts else ""
            self._progress.console.print(
                f"[green]✓[/] {component:<10} {took:7.1f} s  {escape(counts + self._step)}", highlight=False
            )
        else:
            self._progress.console.print(
                f"[red]✗[/] {component:<10} failed after {took:.1f} s (last step: {escape(self._step or 'none')})",
                highlight=False,
            )
        self._progress.update(task, visible=False)
        self._name = ""

    def __exit__(self, *_: object) -> None:
        self._progress.stop()


def _train(s, store, components: list[str] | None) -> str:
    from shopmind.capability import TrainContext
    from shopmind.ingest.quality_cache import ensure_quality_report
    from shopmind.pipeline import train_all
    from shopmind.store.artifacts import ArtifactStore

    artifacts = ArtifactStore(s.artifacts_dir)
    with ComponentProgress() as shown:
        ctx = TrainContext(store=store, settings=s, progress=shown)
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
