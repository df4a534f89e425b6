"""``shopmind search "query"`` and ``shopmind evaluate search`` (judged product search)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from shopmind.cli.common import console, err_console, open_configured_store, settings, write_json
from shopmind.config import SEARCH_K
from shopmind.errors import ArtifactError, ConfigError


def _parse_filters(values: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for v in values:
        key, sep, val = v.partition("=")
        if not sep or not key.strip():
            raise ConfigError("bad --filter", value=v, expected="key=value, e.g. brand=Sony or price=10..50")
        key, val = key.strip(), val.strip()
        if key in out:  # repeated key = any of the values
            prev = out[key]
            out[key] = [*(prev if isinstance(prev, list) else [prev]), val]
        elif key == "in_stock":
            out[key] = val.lower() in ("1", "true", "yes", "")
        else:
            out[key] = val
    return out


def _rich(text: str) -> str:
    from rich.markup import escape

    parts = re.split(r"(<em>.*?</em>)", text)
    return "".join(
        f"[bold yellow]{escape(p[4:-5])}[/]"
        if p.startswith("<em>")
        else escape(
            p.replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", '"')
            .replace("&#x27;", "'")
        )
        for p in parts
    )


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    @app.command("search")
    def search_cmd(
        query: str = typer.Argument(..., help="What to search for"),
        filter_: list[str] = typer.Option(
            [],
            "--filter",
            "-f",
            help="key=value: category=A>B, brand=X, price=10..50, in_stock=true, <attribute>=v",
        ),
        sort: str = typer.Option(
            "relevance", "--sort", help="relevance | price | -price | newest | popularity | rating"
        ),
        user: str | None = typer.Option(None, "--user", help="Personalise for this user id"),
        mode: str = typer.Option("hybrid", "--mode", help="bm25 | semantic | hybrid | ltr"),
        k: int = typer.Option(SEARCH_K, "--k", help="Results per page"),
        offset: int = typer.Option(0, "--offset", help="Skip this many results"),
        log: bool = typer.Option(False, "--log/--no-log", help="Record the search in the search log"),
        json_out: Path | None = typer.Option(None, "--json", help="Write the result as JSON"),
    ) -> None:
        """Search the current trained catalogue; prints hits with highlights, then facets."""
        from rich.table import Table

        from shopmind.search.service import SearchService
        from shopmind.store.artifacts import ArtifactStore

        s = settings()
        run = ArtifactStore(s.artifacts_dir).current()
        if run is None or not (run.path / "search").is_dir():
            raise ArtifactError(
                "no trained search index", value=str(s.artifacts_dir), expected="run `shopmind train` first"
            )
        store = open_configured_store(s)
        try:
            svc = SearchService.load(run.path / "search", store, settings=s)
            res = svc.search(
                query,
                k=k,
                offset=offset,
                filters=_parse_filters(filter_),
                sort=sort,
                user_id=user,
                mode=mode,
                log=log,
            )
        finally:
            store.close()
        title = f"{res.total} results for {query!r} ({res.mode}, {res.took_ms:.1f} ms)"
        if res.corrected_query:
            title += f" — showing results for {res.corrected_query!r}"
        if res.fallback:
            title += f" — fallback: {res.fallback}"
        table = Table(title=title)
        for col in ("#", "id", "title", "brand", "price", "score"):
            table.add_column(col, justify="right" if col in ("#", "price", "score") else "left")
        for h in res.hits:
            table.add_row(
                str(h.position) + (" 📌" if h.pinned else ""),
                h.item_id,
                _rich(h.highlight.get("title", h.title)),
                h.brand or "",
                "" if h.price is None else f"{h.price:,.2f}",
                f"{h.score:.4f}",
            )
        console.print(table)
        for name, counts in res.facets.items():
            if name == "attributes":
                for key, vals in counts.items():
                    console.print(
                        f"[bold]{key}[/]: " + ", ".join(f"{v} ({n})" for v, n in list(vals.items())[:8])
                    )
            elif counts:
                console.print(
                    f"[bold]{name}[/]: " + ", ".join(f"{v} ({n})" for v, n in list(counts.items())[:10])
                )
        write_json(json_out, res.to_dict())

    @evaluate_app.command("search")
    def evaluate_search(
        dataset: str | None = typer.Option(None, "--dataset", help="chorus (with --data-dir)"),
        data_dir: Path | None = typer.Option(
            None, "--data-dir", help="Folder of the chorus-icecat-search set"
        ),
        products: Path | None = typer.Option(
            None, "--products", help="JSONL/CSV: id, title, [description, brand, category, attributes, price]"
        ),
        queries: Path | None = typer.Option(None, "--queries", help="TSV qid<TAB>query"),
        qrels: Path | None = typer.Option(None, "--qrels", help="TREC qrels: qid 0 docid grade"),
        items: Path | None = typer.Option(
            None, "--items", help="A shop's catalogue (JSONL/CSV), judged from --events"
        ),
        events: Path | None = typer.Option(
            None,
            "--events",
            help="A shop's events (the ingest format): searches judged by what sessions did next",
        ),
        max_queries: int = typer.Option(
            500, "--max-queries", min=1, help="--events: the most frequent judged queries kept"
        ),
        mode: str = typer.Option("all", "--mode", help="bm25 | semantic | hybrid | ltr | all"),
        folds: int = typer.Option(5, "--folds", help="GroupKFold folds for ltr"),
        encoder: str | None = typer.Option(
            None, "--encoder", help="Embedding model spec (default packaged MiniLM)"
        ),
        cache_dir: Path | None = typer.Option(
            Path("var/cache/search"), "--cache-dir", help="Reuse product embeddings across runs"
        ),
        run_out: Path | None = typer.Option(None, "--run", help="Write a TREC run file of what was scored"),
        json_out: Path | None = typer.Option(None, "--json", help="Write the results as JSON"),
    ) -> None:
        """Judged search quality of every mode beside the plain bm25s-title baseline."""
        from rich.table import Table

        from shopmind.config import SearchConfig
        from shopmind.datasets.judged import read_products, read_qrels, read_queries
        from shopmind.evaluate.search import (
            BASELINE,
            JudgedSet,
            evaluate,
            judged_from_events,
            load_chorus,
            read_events,
            write_run,
        )
        from shopmind.search.engine import MODES

        if dataset is not None:
            if dataset.lower() not in ("chorus", "chorus-icecat"):
                raise ConfigError("unknown dataset", value=dataset, expected="chorus")
            if data_dir is None:
                raise ConfigError(
                    "--dataset chorus needs --data-dir", expected="the chorus-icecat-search folder"
                )
            judged = load_chorus(data_dir)
        elif items is not None or events is not None:
            if items is None or events is None:
                raise ConfigError("--items and --events go together", value=str(items or events))
            judged = judged_from_events(
                read_products(items),
                read_events(events),
                max_queries=max_queries,
                name=f"{events.name} search log",
            )
        else:
            if not (products and queries and qrels):
                raise ConfigError(
                    "give --dataset chorus --data-dir DIR, --items and --events, "
                    "or all of --products, --queries and --qrels"
                )
            judged = JudgedSet(
                products.stem, read_products(products), read_queries(queries), read_qrels(qrels)
            )
        modes = list(MODES) if mode == "all" else [m.strip() for m in mode.split(",") if m.strip()]
        cfg = SearchConfig(encoder=encoder)
        err_console.print(
            f"[dim]{len(judged.products)} products, {len(judged.qrels)} judged queries; modes {modes}[/]"
        )
        out = evaluate(judged, modes, config=cfg, cache_dir=cache_dir, folds=folds)
        table = Table(title=f"{out['dataset']}: judged search ({out['n_queries']} queries)")
        for col in ("mode", "nDCG@10", "base nDCG", "×base", "P@10", "MRR", "zero", "s"):
            table.add_column(col, justify="left" if col == "mode" else "right")
        base = out["rows"][0]["metrics"]
        for row in out["rows"]:
            m = row["metrics"]
            table.add_row(
                row["name"] + (" (base)" if row["name"] == BASELINE else ""),
                f"{m['ndcg@10']:.4f}",
                f"{base['ndcg@10']:.4f}",
                f"{m['ndcg@10'] / base['ndcg@10']:.3f}" if base["ndcg@10"] else "—",
                f"{m['p@10']:.4f}",
                f"{m['mrr']:.4f}",
                f"{m['zero_result_rate']:.3f}",
                f"{row['seconds']:.1f}",
            )
        console.print(table)
        if out["n_tokenless_queries"]:
            console.print(
                f"{out['n_tokenless_queries']} of {out['n_queries']} judged queries have no indexable token "
                f"({', '.join(out['tokenless_queries'][:10])}): kept in every mean, empty rankings score 0"
            )
        console.print(
            "[dim]nDCG@10 with gain 2^g − 1 over the judged pool; unjudged products count as 0. P@10 and MRR: "
            "grade ≥ 2 is relevant. ltr: out-of-fold, GroupKFold by query.[/]"
        )
        if run_out is not None:
            write_run(run_out, out["runs"])
            err_console.print(f"wrote {run_out}")
        from shopmind.evaluate.provenance import provenance

        # library versions, BLAS and platform: what a re-run must match to give the same figures
        write_json(json_out, {**{k: v for k, v in out.items() if k != "runs"}, "provenance": provenance()})
