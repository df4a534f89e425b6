"""``shopmind generate``: write the synthetic bilingual demo shop to a folder."""

from __future__ import annotations

from pathlib import Path

import typer

from shopmind.cli.common import console


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    @app.command("generate")
    def generate_cmd(
        size: str = typer.Option(
            "demo", "--size", help="Preset: tiny, small, demo (≈20k products) or large."
        ),
        seed: int = typer.Option(42, "--seed", help="Random seed; the same seed gives identical files."),
        out: Path = typer.Option(Path("var/demo-shop"), "--out", help="Output folder."),
        users: int | None = typer.Option(None, "--users", help="Override the preset's number of customers."),
        items: int | None = typer.Option(None, "--items", help="Override the preset's number of products."),
        events: int | None = typer.Option(None, "--events", help="Override the preset's target event count."),
        events_format: str | None = typer.Option(None, "--events-format", help="csv or parquet."),
    ) -> None:
        """Generate a seeded synthetic shop (catalogue, customers, events, orders, reviews, help pages,
        daily sales) that `shopmind ingest` reads."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Table

        from shopmind.datasets.synthetic import ShopConfig, generate

        overrides: dict[str, object] = {"seed": seed}
        for key, value in (("n_users", users), ("n_items", items), ("n_events", events)):
            if value is not None:
                overrides[key] = value
        if events_format is not None:
            overrides["events_format"] = events_format
        config = ShopConfig.preset(size, **overrides)
        with Progress(
            TextColumn("[bold]{task.description:<8}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            tasks: dict[str, object] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

            result = generate(config, out, progress=progress)
        table = Table(title=f"{config.size} shop, seed {config.seed} → {out}")
        table.add_column("file")
        table.add_column("rows", justify="right")
        for kind, count in result.counts.items():
            table.add_row(Path(result.files[kind]).name, f"{count:,}")
        console.print(table)
        console.print(f"generated in {result.seconds:.1f} s")
