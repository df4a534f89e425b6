"""``shopmind chat``, ``describe``, ``reviews`` and ``shopmind evaluate intents|responses|sentiment``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from shopmind.cli.common import console, err_console, metric_rows_table, settings, write_json
from shopmind.errors import ConfigError

if TYPE_CHECKING:
    from shopmind.engine import Engine


def _open_engine() -> Engine:
    """The engine over the current run, wired as the server wires it (``Engine.open``).

    The assistant gets the search and recommend services the run holds; one that does not load is
    reported (the assistant works without it). A run without an assistant raises ``NotFittedError``.
    """
    from shopmind.engine import Engine

    engine = Engine.open(settings(), capabilities=("assistant",))  # + search, recommend; not forecast
    caps = engine.capabilities()
    for name in ("search", "recommend"):
        if caps[name]["state"] == "failed":
            err_console.print(f"[yellow]note:[/] {name} service not loaded ({caps[name]['reason']})")
    try:
        engine.service("assistant")
    except BaseException:
        engine.close()
        raise
    return engine


def _print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    console.print(metric_rows_table(title, rows))


def register(app: typer.Typer, evaluate_app: typer.Typer) -> None:
    @app.command("chat")
    def chat_cmd(
        user: str | None = typer.Option(None, "--user", help="Chat as this (authenticated) customer id"),
        language: str | None = typer.Option(None, "--lang", help="Force en or zh (default: detected)"),
        show_meta: bool = typer.Option(False, "--meta", help="Show intent, confidence and citations"),
    ) -> None:
        """Interactive customer-service chat: one message per line until EOF or 'quit'."""
        from rich.markup import escape

        engine = _open_engine()
        interactive = sys.stdin.isatty()
        if interactive:
            console.print("[bold]shopmind assistant[/] — type 'quit' to leave")
        cid: str | None = None
        while True:
            if interactive:
                console.print("[bold cyan]you>[/] ", end="")
            line = sys.stdin.readline()
            if not line:
                break
            message = line.strip()
            if not message:
                continue
            if message.lower() in {"quit", "exit", "退出"}:
                break
            reply = engine.chat(message, conversation_id=cid, user_id=user, language=language)
            cid = reply.conversation_id
            console.print(f"[bold green]assistant>[/] {escape(reply.text)}", highlight=False)
            if show_meta:
                cites = ", ".join(c["doc_id"] for c in reply.citations)
                console.print(
                    f"  [dim]intent={reply.intent} conf={reply.confidence:.2f} tool={reply.tool} "
                    f"cites=[{cites}] ticket={reply.handoff_ticket_id} {reply.took_ms:.1f} ms[/]"
                )
        if cid:
            err_console.print(f"conversation {cid} stored")
        engine.close()

    @app.command("describe")
    def describe_cmd(
        item: str = typer.Argument(..., help="Item id"),
        style: str = typer.Option("short", "--style", help="short | bullet | seo"),
        language: str = typer.Option("en", "--lang", help="en | zh"),
        show_claims: bool = typer.Option(False, "--claims", help="List each claim and its source field"),
        json_out: Path | None = typer.Option(None, "--json", help="Write the description as JSON"),
    ) -> None:
        """A product description built only from the item's stored attributes."""
        engine = _open_engine()
        desc = engine.describe(item, style=style, language=language)
        console.print(desc.text, markup=False, highlight=False)
        if show_claims:
            from rich.table import Table

            table = Table(title="claims")
            table.add_column("field")
            table.add_column("value")
            for c in desc.claims:
                table.add_row(c.field, str(c.value))
            console.print(table)
        write_json(json_out, desc.to_dict())
        engine.close()

    @app.command("reviews")
    def reviews_cmd(
        item: str = typer.Argument(..., help="Item id"),
        json_out: Path | None = typer.Option(None, "--json", help="Write the insights as JSON"),
    ) -> None:
        """Review sentiment and per-aspect summary for one product."""
        from rich.table import Table

        engine = _open_engine()
        out = engine.review_insights(item)
        s = out["sentiment"]
        console.print(
            f"[bold]{item}[/]: {out['n_reviews']} reviews, mean rating {out['mean_rating']}, "
            f"pos {s['pos']} / neu {s['neu']} / neg {s['neg']} ({out['method']})"
        )
        table = Table(title="aspects")
        for col in ("aspect", "mentions", "pos", "neu", "neg", "score", "example"):
            table.add_column(col)
        for a in out["aspects"]:
            table.add_row(
                a["aspect"],
                str(a["mentions"]),
                str(a["pos"]),
                str(a["neu"]),
                str(a["neg"]),
                f"{a['score']:+.2f}",
                (a["examples"] or [""])[0][:60],
            )
        console.print(table)
        write_json(json_out, out)
        engine.close()

    @evaluate_app.command("intents")
    def evaluate_intents_cmd(
        train: list[Path] = typer.Option(
            [],
            "--train",
            help="CSV text,intent (e.g. a benchmark's train.csv); repeat to train on several (train + dev)",
        ),
        test: Path | None = typer.Option(
            None, "--test", help="CSV text,intent (e.g. a benchmark's test.csv)"
        ),
        dataset: str | None = typer.Option(
            None, "--dataset", help="bitext: seeded 80/20 split of --data-dir"
        ),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Folder of --dataset"),
        model: str = typer.Option("ensemble", "--model", help="tfidf | embedding | ensemble"),
        shots: int | None = typer.Option(None, "--shots", help="k examples per intent (seeded sample)"),
        seed: int = typer.Option(42, "--seed"),
        oos_holdout: int = typer.Option(0, "--oos-holdout", help="Hold N intents out of training as OOS"),
        oos_label: str | None = typer.Option(
            None,
            "--oos-label",
            help="Test rows with this label are out of scope (e.g. oos): in-scope accuracy, OOS recall/precision",
        ),
        max_loss: float = typer.Option(0.03, "--max-in-scope-loss", help="OOS threshold target"),
        ensemble_weight: float | None = typer.Option(None, "--ensemble-weight", help="TF-IDF weight"),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache sentence vectors here"),
        finetune_epochs: int | None = typer.Option(
            None,
            "--finetune-epochs",
            min=0,
            help="Contrastive fine-tuning epochs of the encoder (0 = frozen)",
        ),
        label_names: bool | None = typer.Option(
            None,
            "--label-names/--no-label-names",
            help="Add each intent's name ('card_arrival' → 'card arrival') as an example",
        ),
        knn_weight: float | None = typer.Option(
            None, "--knn-weight", min=0.0, max=1.0, help="Weight of the nearest-neighbour head (0 = off)"
        ),
        preset: list[str] = typer.Option(
            [],
            "--preset",
            help="Tuned intent configuration: a preset name (banking77, banking77-10shot) or a .toml "
            "path; repeatable; the options above override it",
        ),
        encoder: str | None = typer.Option(
            None,
            "--encoder",
            help="Sentence encoder: minilm (default), mpnet (the mpnet extra), use-multilingual, "
            "e5-multilingual (the e5 extra) or a model folder",
        ),
        extra_encoder: list[str] = typer.Option(
            [], "--extra-encoder", help="One more sentence encoder as an ensemble member (repeatable)"
        ),
        json_out: Path | None = typer.Option(None, "--json", help="Write rows as JSON"),
    ) -> None:
        """Intent accuracy / macro-F1 (and out-of-scope recall with --oos-holdout)."""
        from shopmind.assistant.intents import IntentConfig, read_intent_csv
        from shopmind.evaluate.assistant import (
            evaluate_intents,
            evaluate_intents_oos_label,
            stratified_split,
        )

        if dataset:
            if dataset != "bitext" or data_dir is None:
                raise ConfigError(
                    "--dataset supports bitext with --data-dir", value=dataset, expected="bitext"
                )
            from shopmind.datasets.dialogue import load_bitext

            frame = load_bitext(data_dir)
            tr, te = stratified_split(frame["intent"].tolist(), 0.2, seed)
            texts, labels = frame["text"].tolist(), frame["intent"].tolist()
            args = (
                [texts[i] for i in tr],
                [labels[i] for i in tr],
                [texts[i] for i in te],
                [labels[i] for i in te],
            )
            name = "bitext"
        else:
            if not train or test is None:
                raise ConfigError("give --train and --test (or --dataset bitext --data-dir DIR)")
            tr_t, tr_l = [], []
            for file in train:
                t, lab = read_intent_csv(file)
                tr_t += t
                tr_l += lab
            te_t, te_l = read_intent_csv(test)
            args = (tr_t, tr_l, te_t, te_l)
            name = train[0].parent.name or "intents"
        from shopmind.presets import load_presets

        flags = {
            "finetune_epochs": finetune_epochs,
            "label_examples": label_names,
            "knn_weight": knn_weight,
            "encoder": encoder,
            "ensemble_weight": ensemble_weight,
            "extra_encoders": tuple(extra_encoder) if extra_encoder else None,
        }
        cfg = IntentConfig.from_presets(
            load_presets(preset),
            max_in_scope_loss=max_loss,
            **{k: v for k, v in flags.items() if v is not None},
        )
        protocol = "official split" if not dataset else "seeded 80/20"
        if oos_label is not None:
            if oos_holdout:
                raise ConfigError(
                    "--oos-label and --oos-holdout exclude each other",
                    value={"oos_label": oos_label, "oos_holdout": oos_holdout},
                    expected="one way of marking out-of-scope test rows",
                )
            protocol += f"; test rows labelled {oos_label!r} are out of scope"
            with console.status("fitting intent models…"):
                rows = evaluate_intents_oos_label(
                    *args,
                    oos_label,
                    name=name,
                    model=model,
                    shots=shots,
                    seed=seed,
                    config=cfg,
                    cache_dir=cache_dir,
                )
        else:
            with console.status("fitting intent models…"):
                rows = evaluate_intents(
                    *args,
                    name=name,
                    model=model,
                    shots=shots,
                    seed=seed,
                    oos_holdout=oos_holdout,
                    config=cfg,
                    cache_dir=cache_dir,
                )
        _print_rows(f"intents ({name})", rows)
        write_json(json_out, {"dataset": name, "protocol": protocol, "presets": list(preset), "rows": rows})

    @evaluate_app.command("responses")
    def evaluate_responses_cmd(
        data_dir: Path = typer.Option(..., "--data-dir", help="ECD folder (test.txt)"),
        last_turns: int = typer.Option(3, "--last-turns", help="Context turns used"),
        json_out: Path | None = typer.Option(None, "--json", help="Write rows as JSON"),
    ) -> None:
        """ECD Taobao response selection (Chinese): R10@1/2/5 and MRR on test.txt."""
        from shopmind.datasets.dialogue import ecd_groups, load_ecd
        from shopmind.evaluate.assistant import evaluate_response_selection

        groups = ecd_groups(load_ecd(data_dir / "test.txt" if data_dir.is_dir() else data_dir))
        metrics = evaluate_response_selection(groups, last_turns=last_turns)
        rows = [{"name": "ecd/tfidf-cosine", "metrics": metrics}]
        _print_rows("ECD response selection (test.txt)", rows)
        write_json(
            json_out, {"dataset": "ecd-taobao-cs-sample", "protocol": "R10@k on test.txt", "rows": rows}
        )

    @evaluate_app.command("sentiment")
    def evaluate_sentiment_cmd(
        data_dir: Path = typer.Option(..., "--data-dir", help="amazon-fashion-5core folder or .json.gz"),
        seed: int = typer.Option(42, "--seed"),
        json_out: Path | None = typer.Option(None, "--json", help="Write rows as JSON"),
    ) -> None:
        """Review sentiment (stars → neg/neu/pos): accuracy and macro-F1 on a seeded, text-grouped split."""
        from shopmind.datasets.reviews import load_amazon_reviews
        from shopmind.evaluate.assistant import evaluate_sentiment

        path = data_dir / "AMAZON_FASHION_5.json.gz" if data_dir.is_dir() else data_dir
        rows = evaluate_sentiment(load_amazon_reviews(path), seed=seed)
        _print_rows("review sentiment", rows)
        write_json(
            json_out,
            {"dataset": "amazon-fashion-5core", "protocol": "seeded 80/20 grouped by text", "rows": rows},
        )
