"""``shopmind forecast`` (forecasts and inventory advice) and ``shopmind evaluate forecast`` (backtest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from shopmind.cli.common import console, err_console, open_configured_store, settings, write_json
from shopmind.errors import ArtifactError


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return "∞" if v == float("inf") else f"{v:,.{digits}f}"
    return str(v)


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    @app.command("forecast")
    def forecast_cmd(
        item: str | None = typer.Option(None, "--item", "-i", help="Item id (default: the shop total)"),
        category: str | None = typer.Option(None, "--category", "-c", help="Category (top-level name)"),
        horizon: int | None = typer.Option(None, "--horizon", "-h", help="Days ahead (≤ trained horizon)"),
        inventory: bool = typer.Option(
            False, "--inventory", help="Inventory advice (for --item only, else every forecast item)"
        ),
        service_level: float = typer.Option(
            0.95, "--service-level", help="Cycle service level for safety stock"
        ),
        lead_time: float = typer.Option(7.0, "--lead-time", help="Supplier lead time in days"),
        review_period: float = typer.Option(
            0.0, "--review-period", help="Days between orders (0 = continuous)"
        ),
        status: str | None = typer.Option(
            None, "--status", help="stockout_risk | overstock | ok | unknown_stock"
        ),
        limit: int = typer.Option(20, "--limit", help="Rows of inventory advice to show"),
        live: bool = typer.Option(
            False, "--live", help="Fit from the store now instead of loading artifacts"
        ),
        n_jobs: int = typer.Option(1, "--n-jobs", help="Processes for --live fitting"),
        json_out: Path | None = typer.Option(None, "--json", help="Write the result as JSON"),
    ) -> None:
        """Show a forecast (history tail, mean, 80/95 % intervals, model, reorder point) or inventory advice."""
        from rich.table import Table

        from shopmind.forecast.service import NAME, ForecastService

        s = settings()
        store = open_configured_store(s)
        try:
            if live:
                svc = ForecastService.live(store, s.forecast, n_jobs=n_jobs)
            else:
                from shopmind.store.artifacts import ArtifactStore

                run = ArtifactStore(s.artifacts_dir).current()
                if run is None or not (run.path / NAME).is_dir():
                    raise ArtifactError(
                        "no trained forecasts",
                        value=str(s.artifacts_dir),
                        expected="run `shopmind train` or use --live",
                    )
                svc = ForecastService.load(run.path / NAME, store)
            if inventory:
                rows = svc.inventory(
                    service_level=service_level,
                    lead_time_days=lead_time,
                    review_period_days=review_period,
                    status=status,
                    item_ids=[item] if item else None,
                    limit=limit,
                )
                t = Table(
                    title=f"Inventory advice (service level {service_level:.0%}, lead time {lead_time:g} d)"
                )
                for col in (
                    "item",
                    "status",
                    "stock",
                    "cover (d)",
                    "mean/day",
                    "safety",
                    "reorder pt",
                    "order",
                ):
                    t.add_column(col, justify="left" if col in ("item", "status") else "right")
                colour = {"stockout_risk": "red", "overstock": "yellow", "ok": "green"}
                for r in rows:
                    c = colour.get(r["status"], "white")
                    t.add_row(
                        r["item_id"],
                        f"[{c}]{r['status']}[/]",
                        _fmt(r["stock"], 0),
                        _fmt(r["days_of_cover"], 1),
                        _fmt(r["mean_daily_demand"]),
                        _fmt(r["safety_stock"], 1),
                        _fmt(r["reorder_point"], 1),
                        _fmt(r["suggested_order"], 0),
                    )
                console.print(t)
                write_json(json_out, {"inventory": rows})
                return
            out = svc.forecast(
                item_id=item,
                category=category,
                horizon=horizon,
                service_level=service_level,
                lead_time_days=lead_time,
            )
            head = f"{out['level']} {out['id']}: model {out['model']}"
            if out.get("demand_class"):
                head += f", {out['demand_class']} demand"
            if out.get("reorder_point") is not None:
                head += f", reorder point {out['reorder_point']:.1f}"
            t = Table(title=head)
            for col in ("date", "actual", "forecast", "80 %", "95 %"):
                t.add_column(col, justify="right")
            for h in out["history"][-14:]:
                t.add_row(h["ds"], _fmt(h["y"]), "", "", "", style="dim")
            for f in out["forecast"]:
                t.add_row(
                    f["ds"],
                    "",
                    _fmt(f["mean"]),
                    f"{_fmt(f.get('lo_80'))} – {_fmt(f.get('hi_80'))}",
                    f"{_fmt(f.get('lo_95'))} – {_fmt(f.get('hi_95'))}",
                )
            console.print(t)
            write_json(json_out, out)
        finally:
            store.close()

    @evaluate_app.command("forecast")
    def evaluate_forecast(
        dataset: str | None = typer.Option(
            None, "--dataset", help="walmart | aus-retail | us-retail | synthetic (or --data-file)"
        ),
        data_file: Path | None = typer.Option(
            None,
            "--data-file",
            help="A shop's sales history: CSV or Parquet, one row per series and period (docs/evaluation.md)",
        ),
        id_col: str = typer.Option("unique_id", "--id-col", help="--data-file: the series id column"),
        date_col: str = typer.Option("ds", "--date-col", help="--data-file: the period's date column"),
        value_col: str = typer.Option("y", "--value-col", help="--data-file: the value (units) column"),
        freq: str | None = typer.Option(
            None, "--freq", help="--data-file: pandas frequency, e.g. D, W-SUN, MS (default: inferred)"
        ),
        season_length: int | None = typer.Option(
            None, "--season-length", min=1, help="--data-file: periods per season (default from --freq)"
        ),
        fill_gaps: bool = typer.Option(
            False, "--fill-gaps", help="--data-file: a missing period counts as 0 instead of an error"
        ),
        data_dir: Path | None = typer.Option(
            None,
            "--data-dir",
            help="Shared datasets folder (or the dataset's own folder; a generated shop for synthetic)",
        ),
        horizon: int | None = typer.Option(None, "--horizon", help="Periods ahead (default per dataset)"),
        windows: int = typer.Option(3, "--windows", help="Rolling-origin windows used to choose models"),
        calibration_windows: int | None = typer.Option(
            None,
            "--calibration-windows",
            help="Windows whose errors calibrate the intervals (default --windows; more adds earlier origins)",
        ),
        test_windows: int = typer.Option(2, "--test-windows", help="Rolling-origin test windows"),
        n_series: int | None = typer.Option(None, "--n-series", help="Only the first N series (quick runs)"),
        input_size: int | None = typer.Option(
            None, "--input-size", help="Fit on at most this many latest periods"
        ),
        model: list[str] = typer.Option(
            [],
            "--model",
            "-m",
            help="Smooth-demand candidates (repeatable; default Naive SeasonalNaive AutoETS AutoTheta Combo)",
        ),
        n_jobs: int = typer.Option(1, "--n-jobs", help="Processes for statsforecast"),
        json_out: Path | None = typer.Option(None, "--json", help="Write results as JSON"),
        dump: Path | None = typer.Option(
            None,
            "--dump",
            help="Write every scored test forecast (CSV: series, origin, date, model, y, mean, bounds)",
        ),
    ) -> None:
        """Rolling-origin backtest: MASE, RMSSE, sMAPE, bias, 80/95 % coverage per model and the per-series choice."""

        from shopmind.errors import ConfigError
        from shopmind.evaluate.forecast import (
            BENCHMARKS,
            backtest,
            benchmark_config,
            file_config,
            load_benchmark,
            load_sales_file,
        )

        if (dataset is None) == (data_file is None):
            raise ConfigError(
                "give either --dataset or --data-file",
                value={"dataset": dataset, "data_file": str(data_file) if data_file else None},
                expected=f"--dataset {' | '.join(BENCHMARKS)}, or --data-file sales.csv",
            )
        overrides: dict[str, Any] = {
            "horizon": horizon,
            "n_windows": windows,
            "input_size": input_size,
            "calibration_windows": calibration_windows,
        }
        if model:
            overrides["smooth_models"] = tuple(model)
        if data_file is not None:
            df, file_freq = load_sales_file(
                data_file,
                id_col=id_col,
                date_col=date_col,
                value_col=value_col,
                freq=freq,
                fill_gaps=fill_gaps,
                n_series=n_series,
            )
            dataset = data_file.stem
            cfg = file_config(file_freq, season_length=season_length, **overrides)
        else:
            assert dataset is not None
            if dataset not in BENCHMARKS:
                raise ConfigError(
                    "unknown forecasting dataset", value=dataset, expected=", ".join(BENCHMARKS)
                )
            df = load_benchmark(dataset, data_dir, n_series=n_series)
            cfg = benchmark_config(dataset, **overrides)
        err_console.print(
            f"{dataset}: {df['unique_id'].nunique()} series, horizon {cfg.horizon}, "
            f"{windows} selection + {test_windows} test windows"
        )
        res = backtest(df, cfg, n_test=test_windows, n_jobs=n_jobs)
        console.print(
            backtest_table(
                f"Rolling-origin backtest: {dataset} ({res.info['n_series']} series, {res.seconds:.0f}s)", res
            )
        )
        console.print(f"chosen models: {res.info['chosen_models']}")
        if dump is not None and res.points is not None:
            dump.parent.mkdir(parents=True, exist_ok=True)
            kept = [c for c in res.points.columns if not c.startswith(("cov-", "mcov-"))]
            res.points[kept].to_csv(dump, index=False)
            err_console.print(f"wrote {dump} ({len(res.points)} scored forecasts)")
        write_json(
            json_out,
            {
                "dataset": dataset,
                "protocol": "rolling-origin backtest, nested per-series model choice (shopmind.evaluate.forecast)",
                "config": cfg.model_dump(),
                "info": res.info,
                "seconds": round(res.seconds, 2),
                "rows": res.rows,
            },
        )


def backtest_table(title: str, res: Any) -> Any:
    """A rich table of a :class:`~shopmind.evaluate.forecast.BacktestResult`, one row per model."""
    from rich.table import Table

    t = Table(title=title)
    cols = (
        "model",
        "MASE",
        "vs SNaive",
        "RMSSE",
        "sMAPE",
        "bias",
        "cov 80",
        "cov 95",
        "model cov 80/95",
        "series",
    )
    for c in cols:
        t.add_column(c, justify="left" if c == "model" else "right")
    for r in res.rows:
        m = r["metrics"]
        mc = (
            "—"
            if m["model_coverage_80"] is None
            else f"{m['model_coverage_80']:.2f}/{m['model_coverage_95']:.2f}"
        )
        t.add_row(
            r["name"],
            _fmt(m["mase"], 3),
            _fmt(m["mase_vs_seasonal_naive"], 3),
            _fmt(m["rmsse"], 3),
            _fmt(m["smape"], 2),
            _fmt(m["bias"], 3),
            _fmt(m["coverage_80"], 3),
            _fmt(m["coverage_95"], 3),
            mc,
            str(m["n_series"]),
            style="bold" if r["name"] == "auto" else None,
        )
    return t
