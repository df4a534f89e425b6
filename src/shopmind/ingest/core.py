"""``ingest_file`` / ``ingest_directory``: files → validation → store, bad rows → a rejects file.

The flow for one file, chunk by chunk (``chunk_rows`` rows, default 100 000):

1. read raw rows with their source line numbers (:mod:`shopmind.ingest.readers`);
2. rename columns by ``mapping`` (``{"sku": "id"}``: source name → shopmind field), then replace
   values by ``value_mapping`` (``{"type": {"add_to_basket": "cart"}}``: field → source value → value),
   so a shop's own enumerations (event types, order statuses) need no preprocessing;
3. validate (:mod:`shopmind.ingest.validate`): types, ranges, required fields, references to items
   and users known to the store (or stored earlier in the same run), duplicate ids within the file;
4. append rejected rows to the rejects file (JSON Lines: ``line, field, value, expected, message,
   errors, raw``), then store the good rows of the chunk in **one transaction**.

Events already in the store are counted as ``duplicates`` (idempotent re-ingest adds nothing);
items, users, orders, documents, sales and reviews are upserted (``updated`` counts changed rows,
identical rows count as duplicates). If the store fails on a chunk, that chunk is rolled back and
:class:`IngestAborted` says which chunks were committed before it — nothing is half-applied silently.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, cast

import numpy as np
import pandas as pd
from pydantic import ValidationError

from shopmind.data.schema import RECORD_TYPES, Order, Record, Review, SalesPoint
from shopmind.errors import DataError, Location, ShopmindError, StoreError
from shopmind.ingest.readers import DEFAULT_CHUNK_ROWS, RawChunk, detect_format, read_chunks
from shopmind.ingest.validate import (
    Issue,
    References,
    SeenKeys,
    Validated,
    event_ids_for,
    group_order_rows,
    issues_from_validation_error,
    jsonable,
    prepare_rows,
    validate_events,
    validate_sales,
)
from shopmind.store.base import Store, WriteResult

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = tuple(RECORD_TYPES)
DIRECTORY_ORDER: tuple[str, ...] = ("items", "users", "documents", "events", "orders", "sales", "reviews")
"""Dependency order for :func:`ingest_directory`: referenced kinds first."""
FILE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet", ".pq")
MAX_SAMPLES = 200
MAX_VALUE_MAPPINGS = 10_000
"""Most (column, source value) pairs one run may map: value maps are enumerations, not lookup tables."""
UnknownUsers = Literal["reject", "accept"]


@dataclass
class ChunkReport:
    """What happened to one chunk (one transaction)."""

    index: int
    first_line: int | None
    last_line: int | None
    rows: int
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class IngestReport:
    """The result of ingesting one file. ``errors`` holds the first issues (one per rejected row)."""

    kind: str
    path: str
    format: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejects_path: str | None = None
    chunks: list[ChunkReport] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    error_counts: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.rejected == 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path,
            "format": self.format,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejects_path": self.rejects_path,
            "seconds": round(self.seconds, 3),
            "chunks": [c.to_dict() for c in self.chunks],
            "error_counts": dict(self.error_counts.most_common()),
            "errors": [e.to_dict() for e in self.errors],
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        text = (
            f"{self.kind} from {self.path}: {self.rows} rows, {self.inserted} new, {self.updated} updated, "
            f"{self.duplicates} duplicates, {self.rejected} rejected"
        )
        if self.rejects_path:
            text += f" (rejects in {self.rejects_path})"
        return text


class IngestAborted(StoreError):
    """The store failed on a chunk; that chunk was rolled back. ``report`` covers what was committed."""

    def __init__(self, message: str, report: IngestReport, **kwargs: Any) -> None:
        self.report = report
        super().__init__(message, **kwargs)


class IngestRejected(DataError):
    """``strict=True`` and some rows were rejected (the good rows were stored; ``report`` says all)."""

    def __init__(self, report: IngestReport) -> None:
        self.report = report
        super().__init__(
            f"{report.rejected} of {report.rows} rows rejected",
            expected="no rejected rows (strict mode)",
            location=Location(file=report.path),
        )


class _RejectsWriter:
    """Opens the rejects file on the first reject, so clean runs leave no empty file behind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None
        self.count = 0

    def write(self, line: int, issues: list[Issue], raw: Any) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        first = issues[0]
        record = {
            "line": line,
            "field": first.field,
            "value": jsonable(first.value),
            "expected": first.expected,
            "message": first.message,
            "errors": [i.to_dict() for i in issues],
            "raw": jsonable(raw),
        }
        self._fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


def default_rejects_path(path: Path) -> Path:
    """``data/events.csv`` → ``data/events.rejects.jsonl`` (next to the input)."""
    name = path.name
    for suffix in (".gz", *FILE_SUFFIXES):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return path.with_name(f"{name}.rejects.jsonl")


def ingest_file(
    store: Store,
    kind: str,
    path: str | Path,
    mapping: Mapping[str, str] | None = None,
    rejects: str | Path | None = None,
    strict: bool = False,
    *,
    unknown_users: UnknownUsers = "reject",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    fmt: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    value_mapping: Mapping[str, Mapping[str, str]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestReport:
    """Validate ``path`` as records of ``kind`` and store the good rows; see the module docstring.

    ``mapping`` renames source columns to shopmind fields. ``rejects`` is where rejected rows go
    (default: ``<name>.rejects.jsonl`` next to the input). ``unknown_users="accept"`` stores events,
    orders and reviews of users that are not in the store (anonymous shoppers); by default they are
    rejected like unknown items. ``strict=True`` raises :class:`IngestRejected` after the run when any
    row was rejected. ``progress`` is called with the number of rows done after every chunk.
    """
    if kind not in RECORD_TYPES:
        raise DataError("unknown kind", value=kind, expected=f"one of {', '.join(KINDS)}")
    if unknown_users not in ("reject", "accept"):
        raise DataError("unknown_users policy", value=unknown_users, expected="'reject' or 'accept'")
    path = Path(path)
    fmt = fmt or detect_format(path)
    mapping = dict(mapping or {})
    values = _check_value_mapping(value_mapping, mapping)
    rejects_path = Path(rejects) if rejects is not None else default_rejects_path(path)
    report = IngestReport(kind=kind, path=str(path), format=fmt)
    started = time.perf_counter()
    refs = References(item_ids=set(), user_ids=set(), check_users=unknown_users == "reject")
    if kind in ("events", "orders", "sales", "reviews"):
        refs.item_ids = store.item_ids()
        if refs.check_users and kind != "sales":
            refs.user_ids = store.user_ids()
    seen = SeenKeys()
    writer = _RejectsWriter(rejects_path)
    done_rows = 0
    try:
        chunks: Iterator[RawChunk] = read_chunks(path, chunk_rows=chunk_rows, fmt=fmt)
        if kind == "orders":
            # Orders given one row per line must be grouped across the whole file.
            chunks = iter([_concat_chunks(list(chunks))])
        # One writer thread: chunk k is written (the database drivers release the GIL) while chunk
        # k + 1 is read and validated. Writes stay strictly in order, one transaction per chunk.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as pool:
            pending: _Pending | None = None
            for chunk in chunks:
                t0 = time.perf_counter()
                raw = chunk.frame
                frame = _apply_mapping(raw, mapping, path, report, first=chunk.index == 0)
                if values:
                    frame = _apply_value_mapping(frame, values, path, report, first=chunk.index == 0)
                if defaults:
                    frame = _apply_defaults(frame, defaults, report, first=chunk.index == 0)
                if kind == "events" and "id" not in frame.columns and len(frame):
                    frame = frame.assign(id=event_ids_for(frame))
                    if chunk.index == 0:
                        report.notes.append(
                            "no 'id' column: event ids are content hashes (re-ingest stays idempotent)"
                        )
                validated = _validate(kind, frame, chunk.lines, refs, seen, report, first=chunk.index == 0)
                rejected = _write_rejects(writer, report, chunk, raw, validated)
                _remember_refs(kind, validated, refs)
                if pending is not None:
                    done_rows = _finish(pending, report, kind, done_rows, progress)
                future = pool.submit(_store_chunk, store, kind, validated, report, chunk)
                pending = _Pending(future, chunk, len(raw) + len(chunk.malformed), rejected, t0)
            if pending is not None:
                done_rows = _finish(pending, report, kind, done_rows, progress)
    finally:
        writer.close()
        report.seconds = time.perf_counter() - started
    if writer.count:
        report.rejects_path = str(rejects_path)
    elif rejects is None and rejects_path.exists():
        rejects_path.unlink()  # a stale rejects file from an earlier run of this input would mislead
    log.info("%s", report.summary())
    if strict and report.rejected:
        raise IngestRejected(report)
    return report


@dataclass
class _Pending:
    future: Future[WriteResult]
    chunk: RawChunk
    rows: int
    rejected: int
    started: float


def _finish(
    p: _Pending, report: IngestReport, kind: str, done_rows: int, progress: Callable[[int], None] | None
) -> int:
    """Wait for a chunk's write (re-raising its error) and add it to the report."""
    result = p.future.result()
    chunk = p.chunk
    cr = ChunkReport(
        index=chunk.index,
        first_line=chunk.first_line,
        last_line=chunk.last_line,
        rows=p.rows,
        inserted=result.inserted,
        updated=result.updated,
        duplicates=result.duplicates,
        rejected=p.rejected,
        seconds=round(time.perf_counter() - p.started, 3),
    )
    report.chunks.append(cr)
    report.rows += p.rows
    report.inserted += result.inserted
    report.updated += result.updated
    report.duplicates += result.duplicates
    report.rejected += p.rejected
    log.debug(
        "%s chunk %d (lines %s-%s): %d rows, %d new, %d updated, %d duplicates, %d rejected",
        kind,
        chunk.index,
        cr.first_line,
        cr.last_line,
        p.rows,
        cr.inserted,
        cr.updated,
        cr.duplicates,
        p.rejected,
    )
    done_rows += p.rows
    if progress is not None:
        progress(done_rows)
    return done_rows


def _concat_chunks(chunks: list[RawChunk]) -> RawChunk:
    if len(chunks) == 1:
        return chunks[0]
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    lines = np.concatenate([c.lines for c in chunks]) if chunks else np.zeros(0, dtype=np.int64)
    malformed = [m for c in chunks for m in c.malformed]
    return RawChunk(0, frame, lines, malformed)


def _apply_mapping(
    raw: pd.DataFrame, mapping: dict[str, str], path: Path, report: IngestReport, *, first: bool
) -> pd.DataFrame:
    if not mapping:
        return raw
    if first:
        for src, dst in mapping.items():
            if src not in raw.columns and dst not in raw.columns:
                raise DataError(
                    "mapped column not in the file",
                    value=src,
                    expected=f"one of the file's columns {list(raw.columns)[:20]}",
                    location=Location(file=str(path), line=1),
                )
            if src in raw.columns and dst in raw.columns and src != dst:
                raise DataError(
                    f"mapping {src}→{dst}: the file already has a column '{dst}'",
                    value=dst,
                    expected="a mapping target that is not also a source column",
                    location=Location(file=str(path), line=1),
                )
        report.notes.append("columns mapped: " + ", ".join(f"{s}→{d}" for s, d in mapping.items()))
    return raw.rename(columns={s: d for s, d in mapping.items() if s in raw.columns})


def _check_value_mapping(
    value_mapping: Mapping[str, Mapping[str, str]] | None, mapping: Mapping[str, str]
) -> dict[str, dict[str, str]]:
    """Value maps keyed by shopmind field (a source column name is resolved through ``mapping``)."""
    out: dict[str, dict[str, str]] = {}
    n = 0
    for column, pairs in (value_mapping or {}).items():
        if not isinstance(pairs, Mapping):
            raise DataError(
                "value mapping of a column must map values to values",
                value=column,
                expected='{"COLUMN": {"SOURCE_VALUE": "VALUE"}}',
            )
        field_name = mapping.get(column, column)
        target = out.setdefault(field_name, {})
        for src, dst in pairs.items():
            if str(src) in target and target[str(src)] != str(dst):
                raise DataError(
                    f"value {src!r} of column {column!r} is mapped twice",
                    value=[target[str(src)], str(dst)],
                    expected="one target per source value",
                )
            target[str(src)] = str(dst)
        n += len(pairs)
    if n > MAX_VALUE_MAPPINGS:
        raise DataError("too many value mappings", value=n, expected=f"at most {MAX_VALUE_MAPPINGS:,}")
    return out


def _apply_value_mapping(
    frame: pd.DataFrame, values: dict[str, dict[str, str]], path: Path, report: IngestReport, *, first: bool
) -> pd.DataFrame:
    """Replace listed values column by column (compared as text, so ``1`` matches ``"1"``)."""
    if first:
        missing = [c for c in values if c not in frame.columns]
        if missing:
            raise DataError(
                f"value mapping for a column not in the file: {', '.join(missing)}",
                value=missing[0],
                expected=f"one of the file's columns (after --map) {list(map(str, frame.columns))[:20]}",
                location=Location(file=str(path), line=1),
            )
    out = frame.copy()
    for column, pairs in values.items():
        col = out[column]
        text = col.astype("string")
        hit = text.isin(list(pairs)).fillna(False).to_numpy(dtype=bool)
        if hit.any():
            arr = col.to_numpy(dtype=object, copy=True)
            arr[hit] = text[hit].map(pairs).to_numpy(dtype=object)
            out[column] = arr
        if first:
            report.notes.append(
                f"values mapped in {column}: " + ", ".join(f"{s}→{d}" for s, d in pairs.items())
            )
    return out


def _apply_defaults(
    frame: pd.DataFrame, defaults: Mapping[str, Any], report: IngestReport, *, first: bool
) -> pd.DataFrame:
    out = frame.copy()
    for name, value in defaults.items():
        if name in out.columns:
            out[name] = out[name].where(out[name].notna(), value)
        else:
            out[name] = value
    if first:
        report.notes.append("defaults: " + ", ".join(f"{k}={v!r}" for k, v in defaults.items()))
    return out


def _validate(
    kind: str,
    frame: pd.DataFrame,
    lines: np.ndarray,
    refs: References,
    seen: SeenKeys,
    report: IngestReport,
    *,
    first: bool,
) -> Validated:
    if kind not in ("events", "sales"):
        return _validate_records(kind, frame, lines, refs, seen, report, first=first)
    # the bulk kinds are validated column-wise; columns outside the record's fields are reported once
    ignored = [c for c in frame.columns if c not in RECORD_TYPES[kind].model_fields]
    if first and ignored:
        report.notes.append(f"ignored columns: {', '.join(map(str, ignored))}")
    validate = validate_events if kind == "events" else validate_sales
    return validate(frame, lines, refs, seen)


def _validate_records(
    kind: str,
    frame: pd.DataFrame,
    lines: np.ndarray,
    refs: References,
    seen: SeenKeys,
    report: IngestReport,
    *,
    first: bool,
) -> Validated:
    model = RECORD_TYPES[kind]
    rows, issues, ignored = prepare_rows(kind, frame, lines)
    if first and ignored:
        report.notes.append(f"ignored columns: {', '.join(map(str, ignored))}")
    if kind == "orders" and "lines" not in frame.columns and "item_id" in frame.columns:
        units, members = group_order_rows(rows, lines, issues)
    else:
        units, members = rows, [[p] for p in range(len(rows))]
        if kind == "orders":
            for u in units:
                if "id" not in u and "order_id" in u:
                    u["id"] = u.pop("order_id")
    valid: list[tuple[Record, list[int]]] = []
    for unit, positions in zip(units, members, strict=True):
        bad_members = [p for p in positions if p in issues]
        if bad_members:
            _cascade(issues, positions, lines, bad_members[0], unit)
            continue

        def line_of(loc: tuple[Any, ...], positions: list[int] = positions) -> int:
            if len(positions) > 1 and len(loc) >= 2 and loc[0] == "lines" and isinstance(loc[1], int):
                return int(lines[positions[min(loc[1], len(positions) - 1)]])
            return int(lines[positions[0]])

        try:
            record = model.model_validate(unit)
        except ValidationError as exc:
            found = issues_from_validation_error(exc, line_of)
            cause = _attach(issues, found, positions, lines)
            _cascade(issues, positions, lines, cause, unit)
            continue
        ref_issues = _reference_issues(kind, record, refs, line_of)
        if ref_issues:
            cause = _attach(issues, ref_issues, positions, lines)
            _cascade(issues, positions, lines, cause, unit)
            continue
        valid.append((record, positions))
    # Duplicate keys within the file: the first occurrence wins, later ones are rejected.
    keys = np.asarray([_record_key(kind, r) for r, _ in valid], dtype=object)
    key_lines = np.asarray([int(lines[p[0]]) for _, p in valid], dtype=np.int64)
    first_seen = seen.check(keys, key_lines)
    records: list[Record] = []
    good_positions: list[int] = []
    keep_keys, keep_lines = [], []
    key_name = "item_id+date" if kind == "sales" else "id"
    for (record, positions), key, line, earlier in zip(valid, keys, key_lines, first_seen, strict=True):
        if earlier >= 0:
            issues.setdefault(positions[0], []).append(
                Issue(
                    int(line),
                    key_name,
                    key,
                    f"a unique {key_name}",
                    f"duplicate {key_name} in this file (first on line {int(earlier)})",
                )
            )
            _cascade(issues, positions, lines, positions[0], None)
            continue
        records.append(record)
        good_positions.extend(positions)
        keep_keys.append(key)
        keep_lines.append(line)
    seen.add(np.asarray(keep_keys, dtype=object), np.asarray(keep_lines, dtype=np.int64))
    return Validated(records=records, good_positions=good_positions, issues=issues)


def _attach(
    issues: dict[int, list[Issue]], found: list[Issue], positions: list[int], lines: np.ndarray
) -> int:
    """File each issue under the source row it names (grouped orders span rows); returns the first."""
    by_line = {int(lines[p]): p for p in positions}
    first = positions[0]
    for k, issue in enumerate(found):
        pos = by_line.get(issue.line, positions[0])
        issues.setdefault(pos, []).append(issue)
        if k == 0:
            first = pos
    return first


def _cascade(
    issues: dict[int, list[Issue]], positions: list[int], lines: np.ndarray, cause: int, unit: Any
) -> None:
    """Reject every row of a grouped order when one of its rows is rejected."""
    for p in positions:
        if p not in issues:
            oid = unit.get("id") if isinstance(unit, dict) else None
            issues[p] = [
                Issue(
                    int(lines[p]),
                    None,
                    oid,
                    "every line of the order valid",
                    f"order {oid} rejected because of line {int(lines[cause])}",
                )
            ]


def _record_key(kind: str, record: Record) -> str:
    if isinstance(record, SalesPoint):
        return f"{record.item_id}@{record.date.isoformat()}"
    return str(getattr(record, "id", ""))


def _reference_issues(
    kind: str, record: Record, refs: References, line_of: Callable[[tuple[Any, ...]], int]
) -> list[Issue]:
    out: list[Issue] = []
    if isinstance(record, Order):
        if refs.check_users and record.user_id not in refs.user_ids:
            out.append(
                Issue(
                    line_of(("user_id",)),
                    "user_id",
                    record.user_id,
                    "a known user id (ingest users first)",
                    "unknown user id",
                )
            )
        for k, line in enumerate(record.lines):
            if line.item_id not in refs.item_ids:
                out.append(
                    Issue(
                        line_of(("lines", k, "item_id")),
                        f"lines.{k}.item_id",
                        line.item_id,
                        "an item id in the catalogue",
                        "unknown item id",
                    )
                )
    elif isinstance(record, SalesPoint | Review):
        if record.item_id not in refs.item_ids:
            out.append(
                Issue(
                    line_of(("item_id",)),
                    "item_id",
                    record.item_id,
                    "an item id in the catalogue",
                    "unknown item id",
                )
            )
        if isinstance(record, Review) and refs.check_users and record.user_id not in refs.user_ids:
            out.append(
                Issue(
                    line_of(("user_id",)),
                    "user_id",
                    record.user_id,
                    "a known user id (ingest users first)",
                    "unknown user id",
                )
            )
    return out


def _write_rejects(
    writer: _RejectsWriter, report: IngestReport, chunk: RawChunk, raw: pd.DataFrame, v: Validated
) -> int:
    """Rejected rows of one chunk, in source line order (malformed rows and invalid rows merged)."""
    entries: list[tuple[int, list[Issue], Any]] = [
        (m.line, [Issue(m.line, None, m.raw, m.expected, m.message)], m.raw) for m in chunk.malformed
    ]
    for pos in v.issues:
        row = {str(k): jsonable(val) for k, val in raw.iloc[pos].to_dict().items()}
        entries.append(
            (int(chunk.lines[pos]), v.issues[pos], {k: val for k, val in row.items() if val is not None})
        )
    entries.sort(key=lambda e: e[0])
    for line, issues, row in entries:
        for issue in issues:
            report.error_counts[f"{issue.field or '(row)'}: {issue.message.split(' (first on')[0]}"] += 1
        if len(report.errors) < MAX_SAMPLES:
            report.errors.append(issues[0])
        writer.write(line, issues, row)
    return len(entries)


def _store_chunk(store: Store, kind: str, v: Validated, report: IngestReport, chunk: RawChunk) -> WriteResult:
    if v.n_good == 0:
        return WriteResult()
    try:
        if kind == "events":
            assert v.frame is not None
            return store.add_events_frame(v.frame)
        if kind == "sales":
            assert v.frame is not None
            bulk = getattr(store, "add_sales_frame", None)
            if bulk is not None:
                return cast(WriteResult, bulk(v.frame))
            return store.add_sales(
                SalesPoint(
                    item_id=r.item_id,
                    date=r.date.date(),
                    units=r.units,
                    price=None if np.isnan(r.price) else r.price,
                    promo=bool(r.promo),
                )
                for r in v.frame.itertuples(index=False)
            )
        writers: dict[str, Callable[[list[Any]], WriteResult]] = {
            "items": store.upsert_items,
            "users": store.upsert_users,
            "orders": store.upsert_orders,
            "documents": store.upsert_documents,
            "sales": store.add_sales,
            "reviews": store.upsert_reviews,
        }
        return writers[kind](v.records)
    except ShopmindError as exc:
        committed = [c.index for c in report.chunks]
        raise IngestAborted(
            f"chunk {chunk.index} (lines {chunk.first_line}-{chunk.last_line}) was not stored and was rolled back "
            f"({exc}); chunks committed before it: {committed or 'none'}",
            report,
            location=Location(file=report.path, line=chunk.first_line),
        ) from exc


def _remember_refs(kind: str, v: Validated, refs: References) -> None:
    if kind == "items":
        refs.item_ids.update(r.id for r in v.records)  # type: ignore[attr-defined]
    elif kind == "users":
        refs.user_ids.update(r.id for r in v.records)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- directories
def find_inputs(directory: str | Path) -> list[tuple[str, Path]]:
    """Known input files in ``directory`` (``items.csv``, ``events.jsonl.gz``, ...) in dependency order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(
            "not a directory", value=str(directory), expected="a folder with items.csv, events.csv, ..."
        )
    found: list[tuple[str, Path]] = []
    for kind in DIRECTORY_ORDER:
        matches = sorted(
            p
            for p in directory.iterdir()
            if p.is_file() and any(p.name.lower() in (f"{kind}{s}", f"{kind}{s}.gz") for s in FILE_SUFFIXES)
        )
        if len(matches) > 1:
            raise DataError(
                f"several {kind} files", value=[p.name for p in matches], expected=f"one {kind}.* file"
            )
        if matches:
            found.append((kind, matches[0]))
    if not found:
        raise DataError(
            "no known input files",
            value=str(directory),
            expected="files named " + ", ".join(f"{k}.csv|jsonl|parquet" for k in DIRECTORY_ORDER),
        )
    return found


def ingest_directory(
    store: Store,
    directory: str | Path,
    *,
    mappings: Mapping[str, Mapping[str, str]] | None = None,
    rejects_dir: str | Path | None = None,
    strict: bool = False,
    unknown_users: UnknownUsers = "reject",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[str, int], None] | None = None,
) -> list[IngestReport]:
    """Ingest every known file of ``directory`` in dependency order (items, users, documents, events,
    orders, sales, reviews). ``mappings`` gives a column mapping per kind. With ``strict`` the first
    file with rejects raises :class:`IngestRejected` (files before it stay stored)."""
    reports = []
    for kind, path in find_inputs(directory):
        rejects = Path(rejects_dir) / default_rejects_path(path).name if rejects_dir else None
        cb = (lambda n, kind=kind: progress(kind, n)) if progress else None
        reports.append(
            ingest_file(
                store,
                kind,
                path,
                mapping=(mappings or {}).get(kind),
                rejects=rejects,
                strict=strict,
                unknown_users=unknown_users,
                chunk_rows=chunk_rows,
                progress=cb,
            )
        )
    return reports


def estimate_rows(path: str | Path) -> int | None:
    """A quick row count for progress bars (newlines for text, metadata for Parquet)."""
    path = Path(path)
    try:
        fmt = detect_format(path)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        if path.suffix.lower() == ".gz":
            return None
        count = 0
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                count += block.count(b"\n")
        return max(count - (1 if fmt in ("csv", "tsv") else 0), 0)
    except (OSError, ShopmindError):
        return None
