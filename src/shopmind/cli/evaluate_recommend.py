"""``shopmind evaluate recommend``: offline recommendation benchmarks (msr, loo, temporal protocols)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from shopmind.cli.common import console, err_console, write_json
from shopmind.errors import ConfigError

# Algorithms run when none is named: fast ones (the neural models train for minutes on CPU).
DEFAULT_ALGORITHMS = ("popularity", "user_knn", "item_knn", "sar", "ease", "als", "bpr")


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    @evaluate_app.command("recommend")
    def evaluate_recommend(
        dataset: str | None = typer.Option(
            None, "--dataset", help="ml-100k | sequences | shop (omit with --data-file for a plain CSV)"
        ),
        protocol: str = typer.Option(None, "--protocol", help="msr | loo | temporal (default per dataset)"),
        data_dir: Path | None = typer.Option(
            None,
            "--data-dir",
            help="ml-100k: a folder holding one RecBole .inter file (any name), or the file",
        ),
        data_file: Path | None = typer.Option(
            None,
            "--data-file",
            help="Interactions CSV/Parquet (one row per interaction); S3Rec file with --dataset sequences; "
            ".inter file with --dataset ml-100k",
        ),
        user_col: str = typer.Option("user_id", "--user-col", help="--data-file: the user id column"),
        item_col: str = typer.Option("item_id", "--item-col", help="--data-file: the item id column"),
        rating_col: str | None = typer.Option(
            None, "--rating-col", help="--data-file: rating column (default 'rating' if present, else 1.0)"
        ),
        time_col: str | None = typer.Option(
            None,
            "--time-col",
            help="--data-file: unix seconds or ISO-8601 column (default 'timestamp' if present)",
        ),
        algorithm: list[str] = typer.Option(
            [], "--algorithm", "-a", help="Algorithm name (repeatable; default: the fast families)"
        ),
        seeds: str = typer.Option("42", "--seeds", help="Comma-separated split seeds, e.g. 42,43,44,45,46"),
        k: int = typer.Option(10, "--k", help="List length"),
        params: Path | None = typer.Option(
            None, "--params", help='JSON file {"<algorithm>": {hyper-parameters}} overriding defaults'
        ),
        preset: list[str] = typer.Option(
            [],
            "--preset",
            help="Tuned configurations: a preset name (ml-100k, beauty) or a .toml path; repeatable, "
            "later ones win, --params last",
        ),
        test_fraction: float = typer.Option(0.2, "--test-fraction", help="temporal: share of time held out"),
        history_half_life: float | None = typer.Option(
            None, "--history-half-life", help="loo: weight fold-in history by recency, half-life in items"
        ),
        threads: int = typer.Option(1, "--threads", help="Threads per model (0 = library default)"),
        json_out: Path | None = typer.Option(None, "--json", help="Write results as JSON"),
        dump: Path | None = typer.Option(
            None, "--dump", help="Write the scored top-k as TSV user/item/rank/score (per algorithm/seed)"
        ),
    ) -> None:
        """Fit each algorithm on a benchmark split and print its metrics beside published figures."""
        from shopmind.evaluate.dump import dump_path, write_dump
        from shopmind.evaluate.harness import aggregate, evaluate_model, factory
        from shopmind.evaluate.provenance import provenance
        from shopmind.evaluate.report import payload, table
        from shopmind.presets import load_presets, recommend_config
        from shopmind.recommend.registry import check_presets

        interactions = None
        proto: str | None
        if dataset is None:
            if data_file is None:
                raise ConfigError(
                    "give --dataset ml-100k|sequences|shop, or --data-file with a plain interactions CSV"
                )
            from shopmind.evaluate.protocols import read_interactions

            interactions = read_interactions(
                data_file, user_col=user_col, item_col=item_col, rating_col=rating_col, time_col=time_col
            )
            has_time = bool(time_col) or bool(interactions["timestamp"].any())
            proto = protocol or ("temporal" if has_time else "msr")
            dataset = "file"
        else:
            proto = protocol or {"ml-100k": "msr", "sequences": "loo", "shop": "temporal"}.get(dataset)
        if proto is None:
            raise ConfigError("unknown dataset", value=dataset, expected="ml-100k, sequences or shop")
        if proto not in ("msr", "loo", "temporal"):
            raise ConfigError("unknown protocol", value=proto, expected="msr | loo | temporal")
        try:
            seed_list = [int(s) for s in seeds.split(",") if s.strip()]
        except ValueError as exc:
            raise ConfigError("--seeds must be comma-separated integers", value=seeds) from exc
        if not seed_list:
            raise ConfigError("--seeds is empty", value=seeds, expected="e.g. 42 or 42,43,44")
        overrides = json.loads(params.read_text()) if params else {}
        presets = load_presets(preset)
        check_presets(presets)  # every table checked before anything is fitted
        if interactions is not None and data_file is not None:
            from shopmind.evaluate.protocols import interactions_protocol

            frame, stem = interactions, data_file.stem

            def make_split(seed: int) -> Any:
                return interactions_protocol(
                    frame,
                    proto,
                    seed=seed,
                    k=k,
                    name=stem,
                    test_fraction=test_fraction,
                    history_half_life=history_half_life,
                )

            name = stem
            err_console.print(
                f"[dim]{data_file}: {len(frame):,} interactions, {frame['user_id'].nunique():,} users, "
                f"{frame['item_id'].nunique():,} items; protocol {proto}"
                + (
                    f"; {frame.attrs['rows_without_item']:,} rows without an item skipped"
                    if frame.attrs.get("rows_without_item")
                    else ""
                )
                + "[/]"
            )
        else:
            make_split, name = _split_builder(
                dataset, proto, data_dir, data_file, k, test_fraction, history_half_life
            )
        names = list(algorithm) or _available(DEFAULT_ALGORITHMS)
        splits = {s: make_split(s) for s in (seed_list if proto == "msr" else seed_list[:1])}
        rows = []
        for algo in names:
            config = recommend_config(presets, algo, overrides.get(algo))
            if presets and not any(algo in p.recommend for p in presets):
                err_console.print(f"[yellow]{algo}: not in preset {', '.join(preset)}; library defaults[/]")
            build = factory(algo, config, threads=threads)
            results = []
            for seed in seed_list:
                split = splits.get(seed) or next(iter(splits.values()))
                err_console.print(f"[dim]{algo} · seed {seed} …[/]")
                res = evaluate_model(algo, build, split, seed=seed)
                results.append(res)
                if dump is not None:
                    path = dump_path(dump, algo, seed, len(names) > 1, len(seed_list) > 1)
                    n = write_dump(path, split, res.recs, res.scores)
                    err_console.print(f"wrote {n} rows to {path}")
            rows.append(aggregate(results))
        # Piped output defaults to 80 columns, which would truncate every figure: let the table be wide.
        from rich.console import Console

        out = console if console.is_terminal else Console(width=200)
        out.print(table(name, proto, rows, k))
        used = {a: recommend_config(presets, a, overrides.get(a)) for a in names}
        write_json(
            json_out,
            payload(
                name,
                proto,
                rows,
                k=k,
                params={a: c for a, c in used.items() if c},
                presets=[p.name for p in presets],
                provenance=provenance(threads),
            ),
        )


def _available(names: tuple[str, ...]) -> list[str]:
    from shopmind.evaluate.harness import algorithm_names

    known = set(algorithm_names())
    return [n for n in names if n in known]


def _split_builder(
    dataset: str,
    protocol: str,
    data_dir: Path | None,
    data_file: Path | None,
    k: int,
    test_fraction: float,
    history_half_life: float | None = None,
):
    from shopmind.evaluate import protocols as P

    if dataset == "ml-100k":
        if protocol != "msr":
            raise ConfigError("ml-100k is evaluated with --protocol msr", value=protocol)
        source = data_file or data_dir
        if source is None:
            raise ConfigError(
                "--data-dir (or --data-file) is required for ml-100k",
                expected="the ml-100k folder or its RecBole .inter file",
            )
        return (lambda seed: P.msr_protocol(source, seed=seed, k=k)), "ml-100k"
    if dataset == "sequences":
        if protocol != "loo":
            raise ConfigError("sequence files are evaluated with --protocol loo", value=protocol)
        if data_file is None:
            raise ConfigError("--data-file is required for sequences", expected="an S3Rec-format file")
        split = P.loo_protocol(data_file, k=k, history_half_life=history_half_life)
        return (lambda seed: split), data_file.stem
    if dataset == "shop":
        if protocol != "temporal":
            raise ConfigError("the shop's data is evaluated with --protocol temporal", value=protocol)
        from shopmind.cli.common import open_configured_store

        store = open_configured_store()
        try:
            ds = store.load_dataset()
        finally:
            store.close()
        split = P.temporal_protocol(ds, test_fraction=test_fraction, k=k)
        return (lambda seed: split), "shop"
    raise ConfigError("unknown dataset", value=dataset, expected="ml-100k, sequences or shop")
