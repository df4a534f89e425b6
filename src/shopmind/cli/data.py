"""``shopmind ingest``, ``shopmind ingest-dir`` and ``shopmind quality``."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import typer

from shopmind.cli.common import console, err_console, open_configured_store, settings, write_json
from shopmind.errors import ConfigError

MAX_ROWS_SHOWN = 20


def _advance(bar: Any, task: Any, done: int) -> None:
    bar.update(task, completed=done)


def _parse_mapping(pairs: list[str] | None, option: str = "--map", example: str = "sku=id") -> dict[str, str]:
    """``["a=b,c=d", "e=f"]`` → ``{"a": "b", "c": "d", "e": "f"}`` (``--set`` values keep their commas)."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        for part in pair.split(",") if option == "--map" else [pair]:
            if not part.strip():
                continue
            left, sep, right = part.partition("=")
            if not sep or not left.strip() or not right.strip():
                raise ConfigError(f"bad {option} entry", value=part, expected=f"NAME=VALUE, e.g. {example}")
            mapping[left.strip()] = right.strip()
    return mapping


def print_report(report: Any, *, max_rows: int = MAX_ROWS_SHOWN) -> None:
    """One ingest report: a summary line, the chunk table for multi-chunk files, the first errors."""
    from rich.table import Table

    colour = "green" if report.ok else "yellow"
    console.print(
        f"[bold]{report.kind}[/] from {report.path}: {report.rows:,} rows → [{colour}]{report.inserted:,} new, "
        f"{report.updated:,} updated, {report.duplicates:,} duplicates, {report.rejected:,} rejected[/] "
        f"in {report.seconds:.2f}s"
    )
    for note in report.notes:
        console.print(f"  [dim]{note}[/]")
    if len(report.chunks) > 1:
        chunks = Table(title="chunks (one transaction each)")
        for col in ("chunk", "lines", "rows", "new", "updated", "duplicates", "rejected", "seconds"):
            chunks.add_column(col, justify="right")
        for c in report.chunks:
            chunks.add_row(
                str(c.index),
                f"{c.first_line}-{c.last_line}",
                f"{c.rows:,}",
                f"{c.inserted:,}",
                f"{c.updated:,}",
                f"{c.duplicates:,}",
                f"{c.rejected:,}",
                f"{c.seconds:.2f}",
            )
        console.print(chunks)
    if report.errors:
        table = Table(
            title=f"rejected rows (first {min(max_rows, len(report.errors))} of {report.rejected:,})"
        )
        for col in ("line", "field", "value", "expected", "problem"):
            table.add_column(col, overflow="fold")
        for issue in report.errors[:max_rows]:
            value = "" if issue.value is None else repr(issue.value)
            table.add_row(str(issue.line), issue.field or "(row)", value[:60], issue.expected, issue.message)
        console.print(table)
    if report.rejects_path:
        console.print(f"rejected rows with reasons: [bold]{report.rejects_path}[/]")


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest(
        kind: str = typer.Argument(..., help="items, users, events, orders, documents, sales or reviews."),
        file: Path = typer.Argument(..., help="CSV/TSV, JSON Lines or Parquet file (optionally .gz)."),
        map_: list[str] = typer.Option(
            None,
            "--map",
            "-m",
            help="Column mapping SOURCE=FIELD (repeatable or comma-separated), e.g. sku=id.",
        ),
        rejects: Path | None = typer.Option(
            None,
            "--rejects",
            help="Where rejected rows go (default: <file>.rejects.jsonl next to the input).",
        ),
        strict: bool = typer.Option(False, "--strict", help="Exit with status 1 if any row was rejected."),
        accept_unknown_users: bool = typer.Option(
            False, "--accept-unknown-users", help="Store events/orders/reviews of users not in the store."
        ),
        set_: list[str] = typer.Option(
            None, "--set", help="Default FIELD=VALUE for rows without it (repeatable), e.g. type=rating."
        ),
        fmt: str | None = typer.Option(
            None, "--format", help="csv, tsv, jsonl, json or parquet (default: from the file name)."
        ),
        chunk_rows: int = typer.Option(100_000, "--chunk-rows", min=1, help="Rows per transaction."),
        json_out: Path | None = typer.Option(None, "--json", help="Also write the report as JSON."),
    ) -> None:
        """Validate a file and store its good rows; bad rows go to a rejects file with reasons."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from shopmind.ingest.core import estimate_rows, ingest_file

        mapping = _parse_mapping(map_)
        defaults = _parse_mapping(set_, "--set", "type=rating")
        store = open_configured_store(settings())
        try:
            total = estimate_rows(file)
            with Progress(
                TextColumn(f"ingest {kind}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
            ) as bar:
                task = bar.add_task("rows", total=total)
                report = ingest_file(
                    store,
                    kind,
                    file,
                    mapping=mapping,
                    rejects=rejects,
                    unknown_users="accept" if accept_unknown_users else "reject",
                    chunk_rows=chunk_rows,
                    fmt=fmt,
                    defaults=defaults,
                    progress=lambda n: bar.update(task, completed=n),
                )
        finally:
            store.close()
        print_report(report)
        write_json(json_out, report.to_dict())
        if strict and report.rejected:
            err_console.print(f"[bold red]strict:[/] {report.rejected:,} rows rejected")
            raise SystemExit(1)  # not typer.Exit: main() runs click with standalone_mode=False

    @app.command("ingest-dir")
    def ingest_dir(
        directory: Path = typer.Argument(
            ..., help="Folder with items.*, users.*, events.*, orders.*, ... files."
        ),
        rejects_dir: Path | None = typer.Option(None, "--rejects-dir", help="Folder for rejects files."),
        strict: bool = typer.Option(False, "--strict", help="Exit with status 1 if any row was rejected."),
        accept_unknown_users: bool = typer.Option(False, "--accept-unknown-users"),
        json_out: Path | None = typer.Option(None, "--json", help="Also write the reports as JSON."),
    ) -> None:
        """Ingest every known file of a folder in dependency order (items, users, documents, events, ...)."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from shopmind.ingest.core import estimate_rows, find_inputs, ingest_file

        inputs = find_inputs(directory)
        store = open_configured_store(settings())
        reports = []
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
            ) as bar:
                for kind, path in inputs:
                    task = bar.add_task(f"ingest {kind}", total=estimate_rows(path))
                    rejects = rejects_dir / f"{kind}.rejects.jsonl" if rejects_dir else None
                    reports.append(
                        ingest_file(
                            store,
                            kind,
                            path,
                            rejects=rejects,
                            unknown_users="accept" if accept_unknown_users else "reject",
                            progress=partial(_advance, bar, task),
                        )
                    )
        finally:
            store.close()
        for report in reports:
            print_report(report, max_rows=10)
        write_json(json_out, [r.to_dict() for r in reports])
        rejected = sum(r.rejected for r in reports)
        if strict and rejected:
            err_console.print(f"[bold red]strict:[/] {rejected:,} rows rejected")
            raise SystemExit(1)  # not typer.Exit: main() runs click with standalone_mode=False

    @app.command("quality")
    def quality(
        json_out: Path | None = typer.Option(None, "--json", help="Save the report as JSON here."),
        bot_per_minute: int = typer.Option(30, help="Events inside one minute that make a user bot-like."),
        bot_min_events: int = typer.Option(100, help="Minimum events of a bot-like user."),
        shill_min_ratings: int = typer.Option(5, help="Extreme ratings in the window that flag an account."),
        shill_max_items: int = typer.Option(3, help="At most this many distinct items in those ratings."),
        shill_window_hours: float = typer.Option(24.0, help="Length of the shilling window in hours."),
    ) -> None:
        """Audit the stored data: duplicates, missing fields, unknown ids, ranges, bots, shilling."""
        from shopmind.ingest.quality import quality_report, render_quality

        store = open_configured_store(settings())
        try:
            report = quality_report(
                store,
                bot_events_per_minute=bot_per_minute,
                bot_min_events=bot_min_events,
                shill_min_ratings=shill_min_ratings,
                shill_max_items=shill_max_items,
                shill_window_hours=shill_window_hours,
            )
        finally:
            store.close()
        render_quality(report, console)
        write_json(json_out, report)
