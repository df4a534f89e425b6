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


def _parse_value_mapping(pairs: list[str] | None) -> dict[str, dict[str, str]]:
    """``["type:add_to_basket=cart,type:buy=purchase"]`` → ``{"type": {"add_to_basket": "cart", "buy": "purchase"}}``."""
    mapping: dict[str, dict[str, str]] = {}
    for pair in pairs or []:
        for part in pair.split(","):
            if not part.strip():
                continue
            column, colon, rest = part.partition(":")
            src, sep, dst = rest.partition("=")
            if not colon or not sep or not column.strip() or not src.strip() or not dst.strip():
                raise ConfigError(
                    "bad --map-values entry",
                    value=part,
                    expected="COLUMN:SOURCE_VALUE=VALUE, e.g. type:add_to_basket=cart",
                )
            mapping.setdefault(column.strip(), {})[src.strip()] = dst.strip()
    return mapping


# What to do about the most common rejection reasons (matched against "field: message").
HINTS: tuple[tuple[str, str], ...] = (
    ("unknown user id", "ingest users first, or pass --accept-unknown-users"),
    ("unknown item id", "ingest items first (shopmind ingest items FILE)"),
    ("unknown event type", "map the file's values, e.g. --map-values type:add_to_basket=cart"),
    ("missing", "name the file's column with --map SOURCE=FIELD or give a default with --set FIELD=VALUE"),
    ("required", "name the file's column with --map SOURCE=FIELD or give a default with --set FIELD=VALUE"),
)


def rejection_hint(reason: str) -> str | None:
    """A suggested fix for a grouped rejection reason, or None."""
    low = reason.lower()
    return next((hint for key, hint in HINTS if key in low), None)


def all_rejected(report: Any) -> bool:
    """True when the file had rows and not one of them was stored (nor already there)."""
    return bool(report.rows) and report.rejected >= report.rows


def rejected_summary(report: Any) -> str:
    """One line for a run that rejected every row: the top reason with its count and a hint."""
    top = report.error_counts.most_common(1)
    reason, count = top[0] if top else ("(row): rejected", report.rejected)
    line = f"every row of {report.path} was rejected ({report.rejected:,}); most common: {reason} ×{count:,}"
    hint = rejection_hint(reason)
    return line + (f" — hint: {hint}" if hint else "")


def print_report(report: Any, *, max_rows: int = MAX_ROWS_SHOWN) -> None:
    """One ingest report: a summary line, the chunk table for multi-chunk files, the rejection reasons
    grouped with their counts (first line and value of each), a hint per reason when one helps."""
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
    if report.error_counts:
        first: dict[str, Any] = {}
        for issue in report.errors:
            first.setdefault(f"{issue.field or '(row)'}: {issue.message.split(' (first on')[0]}", issue)
        reasons = report.error_counts.most_common()
        table = Table(title=f"rejection reasons ({len(reasons):,}) of {report.rejected:,} rejected rows")
        for col in ("rows", "reason", "first line", "value", "expected", "hint"):
            table.add_column(col, overflow="fold")
        for reason, count in reasons[:max_rows]:
            issue = first.get(reason)
            value = "" if issue is None or issue.value is None else repr(issue.value)
            table.add_row(
                f"{count:,}",
                reason,
                "" if issue is None else str(issue.line),
                value[:60],
                "" if issue is None else issue.expected,
                rejection_hint(reason) or "",
            )
        console.print(table)
    if report.rejects_path:
        console.print(f"rejected rows with reasons: [bold]{report.rejects_path}[/]")


def _refresh_quality(store: Any) -> None:
    """Recompute the cached data-quality report after an ingest changed the data (the dashboard reads it)."""
    from shopmind.ingest.quality_cache import ensure_quality_report

    with err_console.status("data-quality report"):
        if ensure_quality_report(store, settings().reports_dir):
            err_console.print(f"data-quality report updated: {settings().reports_dir}/quality.json")


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
        map_values: list[str] = typer.Option(
            None,
            "--map-values",
            help="Value mapping COLUMN:SOURCE_VALUE=VALUE applied before validation (repeatable or "
            "comma-separated), e.g. type:add_to_basket=cart,type:buy=purchase. COLUMN is the field "
            "name (after --map) or the file's column.",
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
        value_mapping = _parse_value_mapping(map_values)
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
                    value_mapping=value_mapping,
                    progress=lambda n: bar.update(task, completed=n),
                )
            _refresh_quality(store)
        finally:
            store.close()
        print_report(report)
        write_json(json_out, report.to_dict())
        if all_rejected(report):
            err_console.print(f"[bold red]error:[/] {rejected_summary(report)}")
            raise SystemExit(1)  # nothing was stored: a script must not carry on as if it had been
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
            _refresh_quality(store)
        finally:
            store.close()
        for report in reports:
            print_report(report, max_rows=10)
        write_json(json_out, [r.to_dict() for r in reports])
        failed = [r for r in reports if all_rejected(r)]
        for report in failed:
            err_console.print(f"[bold red]error:[/] {rejected_summary(report)}")
        if failed:
            raise SystemExit(1)
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
