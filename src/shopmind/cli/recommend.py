"""``shopmind recommend``: recommendations, similar items, bought together and trending, with reasons."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from shopmind.cli.common import console, open_configured_store, settings, write_json
from shopmind.config import RECOMMEND_K


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    app.command("recommend")(recommend)


def recommend(
    user: str | None = typer.Option(None, "--user", "-u", help="Customer id to recommend for."),
    k: int = typer.Option(RECOMMEND_K, "--k", "-k", min=1, max=1000, help="How many items."),
    category: str | None = typer.Option(
        None, "--category", help="Category path prefix, e.g. 'Home > Kitchen'."
    ),
    in_stock: bool = typer.Option(False, "--in-stock", help="Only items in stock."),
    min_price: float | None = typer.Option(None, "--min-price", min=0),
    max_price: float | None = typer.Option(None, "--max-price", min=0),
    exclude_purchased: bool = typer.Option(False, "--exclude-purchased", help="Also drop purchased items."),
    algorithm: str | None = typer.Option(
        None, "--algorithm", "-a", help="A trained algorithm (default: hybrid)."
    ),
    session: list[str] = typer.Option(
        None, "--session", help="Item ids viewed in this session (repeatable)."
    ),
    similar: str | None = typer.Option(None, "--similar", help="Items similar to this item id."),
    bought_together: str | None = typer.Option(
        None, "--bought-together", help="Items bought with this item id."
    ),
    trending: bool = typer.Option(False, "--trending", help="Trending items (optionally in --category)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the ranked list as JSON."),
) -> None:
    """Print recommendations with a reason per item, from the current trained artifacts."""
    from shopmind.errors import ArtifactError, ConfigError
    from shopmind.recommend.filters import RecFilters
    from shopmind.recommend.service import NAME, RecommendService
    from shopmind.store.artifacts import ArtifactStore

    modes = sum(x is not None and x is not False for x in (user, similar, bought_together, trending or None))
    if modes != 1:
        raise ConfigError(
            "choose exactly one of --user, --similar, --bought-together, --trending",
            value=modes,
            expected="1",
        )
    s = settings()
    run = ArtifactStore(s.artifacts_dir).current()
    if run is None:
        raise ArtifactError(
            "no trained models", value=str(s.artifacts_dir), expected="run `shopmind train` first"
        )
    store = open_configured_store(s)
    try:
        service = RecommendService.load(Path(run.path) / NAME, store)
        filters = RecFilters(
            in_stock=in_stock,
            category=category,
            min_price=min_price,
            max_price=max_price,
            exclude_purchased=exclude_purchased,
        )
        if user is not None:
            ranked = service.recommend(
                user, k=k, filters=filters, session_items=session or None, algorithm=algorithm
            )
            title = f"recommendations for {user} ({algorithm or service.default})"
        elif similar is not None:
            ranked = service.similar_items(
                similar, k=k, filters=filters.model_copy(update={"exclude_seen": False})
            )
            title = f"similar to {similar}"
        elif bought_together is not None:
            ranked = service.bought_together(bought_together, k=k, filters=filters)
            title = f"bought together with {bought_together}"
        else:
            ranked = service.trending(
                k=k, category=category, filters=filters.model_copy(update={"category": None})
            )
            title = "trending" + (f" in {category}" if category else "")
        table = Table(title=f"{title} — run {run.id}")
        table.add_column("#", justify="right")
        table.add_column("item")
        table.add_column("title")
        table.add_column("score", justify="right")
        table.add_column("reason")
        for rank, rec in enumerate(ranked.items, 1):
            i = service._item_pos[rec.item_id]
            table.add_row(
                str(rank), rec.item_id, service.catalog.title[i][:50], f"{rec.score:.4f}", rec.reason
            )
        console.print(table)
        if not ranked.items:
            console.print("[yellow]no items matched[/]")
        write_json(json_out, ranked.to_dict())
    finally:
        store.close()
