"""Chunked readers for CSV/TSV, JSON Lines (and JSON arrays) and Parquet, with source line numbers.

Every reader yields :class:`RawChunk` objects: a data frame of the raw values (CSV cells as strings,
JSON values as parsed, Parquet values as typed), the 1-based source line of each row, and the rows
that could not even be parsed (a CSV row with the wrong number of fields, a JSON line that is not an
object). Line numbers follow what an editor shows: for CSV the header is line 1 and a quoted field
spanning several lines is reported at the line where its record starts; for JSON Lines it is the
line of the object; for Parquet (no lines) it is the 1-based row number.

Plain ``.gz`` compression is handled for CSV and JSON Lines.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from shopmind.errors import DataError, Location

FORMATS = ("csv", "tsv", "jsonl", "json", "parquet")
DEFAULT_CHUNK_ROWS = 100_000

# Big text cells (descriptions, help pages) exceed the csv module's 128 KiB default field limit.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class Malformed:
    """A source row that could not be parsed into fields at all."""

    line: int
    message: str
    expected: str
    raw: Any


@dataclass
class RawChunk:
    """Raw rows of one chunk with their source lines (``lines[i]`` belongs to ``frame.iloc[i]``)."""

    index: int
    frame: pd.DataFrame
    lines: np.ndarray
    malformed: list[Malformed] = field(default_factory=list)

    @property
    def first_line(self) -> int | None:
        candidates = [int(self.lines.min())] if len(self.lines) else []
        candidates += [m.line for m in self.malformed]
        return min(candidates) if candidates else None

    @property
    def last_line(self) -> int | None:
        candidates = [int(self.lines.max())] if len(self.lines) else []
        candidates += [m.line for m in self.malformed]
        return max(candidates) if candidates else None


def detect_format(path: Path) -> str:
    """The format from the file name: ``.csv .tsv .jsonl .ndjson .json .parquet .pq`` (+ ``.gz``)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    table = {
        ".csv": "csv",
        ".tsv": "tsv",
        ".txt": "csv",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "json",
        ".parquet": "parquet",
        ".pq": "parquet",
    }
    if ext not in table:
        raise DataError(
            "unknown file type",
            value=path.name,
            expected="a .csv, .tsv, .jsonl, .ndjson, .json or .parquet file (optionally .gz)",
            location=Location(file=str(path)),
        )
    return table[ext]


def read_chunks(
    path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, fmt: str | None = None
) -> Iterator[RawChunk]:
    """Yield :class:`RawChunk` s of at most ``chunk_rows`` rows from ``path``."""
    path = Path(path)
    if not path.is_file():
        raise DataError("input file not found", value=str(path), expected="an existing file")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise DataError("unknown format", value=fmt, expected=", ".join(FORMATS))
    if chunk_rows < 1:
        raise DataError("chunk size must be positive", value=chunk_rows, expected="an integer >= 1")
    if fmt in ("csv", "tsv"):
        yield from _csv_chunks(path, chunk_rows, "\t" if fmt == "tsv" else None)
    elif fmt == "jsonl":
        yield from _jsonl_chunks(path, chunk_rows)
    elif fmt == "json":
        yield from _json_array_chunks(path, chunk_rows)
    else:
        yield from _parquet_chunks(path, chunk_rows)


def _open_text(path: Path) -> TextIO:
    # utf-8-sig drops the byte-order mark spreadsheet exports put in front of the header.
    if path.suffix.lower() == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _csv_chunks(path: Path, chunk_rows: int, delimiter: str | None) -> Iterator[RawChunk]:
    with _open_text(path) as fh:
        if delimiter is None:
            sample = fh.read(64 * 1024)
            fh.seek(0)
            first = sample.splitlines()[0] if sample else ""
            # Sniffing whole samples misfires on free text; count candidate separators in the header.
            counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
            delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
        reader = csv.reader(fh, delimiter=delimiter, strict=False)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(
                f"unreadable CSV header: {exc}", location=Location(file=str(path), line=1)
            ) from exc
        header = [h.strip() for h in header]
        if len(set(header)) != len(header) or any(not h for h in header):
            dupes = sorted({h for h in header if header.count(h) > 1 or not h})
            raise DataError(
                "CSV header has empty or repeated column names",
                value=dupes,
                expected="unique, non-empty column names",
                location=Location(file=str(path), line=1),
            )
        width = len(header)
        errors: list[Malformed] = []
        records = _safe_records(reader, errors)
        index = 0
        while True:
            before = reader.line_num
            n_errors = len(errors)
            rows = list(itertools.islice(records, chunk_rows))
            if not rows and len(errors) == n_errors:
                if index == 0:
                    yield _chunk_from_rows(0, header, [], np.zeros(0, dtype=np.int64), [])
                return
            chunk_errors = errors[n_errors:]
            lines = _record_lines(rows, before, reader.line_num, chunk_errors)
            yield _split_chunk(index, header, width, delimiter, rows, lines, chunk_errors)
            index += 1


def _safe_records(reader: Any, errors: list[Malformed]) -> Iterator[list[str]]:
    """The reader's records; a record the csv module cannot parse becomes a :class:`Malformed`."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append(Malformed(reader.line_num, f"unparseable CSV: {exc}", "a valid CSV record", None))


def _record_lines(rows: list[list[str]], before: int, after: int, errors: list[Malformed]) -> np.ndarray:
    """First source line of every record of a chunk.

    The common case, one line per record, is checked with the reader's line counter and needs no
    per-row work; otherwise each record spans 1 + (newlines inside its quoted fields) lines.
    """
    n = len(rows)
    if after - before == n + len(errors) and not errors:
        return np.arange(before + 1, before + 1 + n, dtype=np.int64)
    spans = np.fromiter((1 + sum(f.count("\n") for f in r) for r in rows), dtype=np.int64, count=n)
    lines = before + 1 + np.cumsum(spans) - spans
    for err in sorted(e.line for e in errors):  # an unparseable record pushes later records down
        lines[lines >= err] += 1
    return lines


def _split_chunk(
    index: int,
    header: list[str],
    width: int,
    delimiter: str,
    rows: list[list[str]],
    lines: np.ndarray,
    errors: list[Malformed],
) -> RawChunk:
    bad = list(errors)
    widths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    odd = np.flatnonzero(widths != width)
    if len(odd):
        keep = np.ones(len(rows), dtype=bool)
        for i in odd.tolist():
            keep[i] = False
            row = rows[i]
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            bad.append(
                Malformed(
                    int(lines[i]),
                    f"row has {len(row)} fields, the header has {width}",
                    f"{width} fields",
                    delimiter.join(row),
                )
            )
        rows = [rows[i] for i in np.flatnonzero(keep).tolist()]
        lines = lines[keep]
    return _chunk_from_rows(index, header, rows, lines, bad)


def _chunk_from_rows(
    index: int, header: list[str], rows: list[list[str]], lines: np.ndarray, bad: list[Malformed]
) -> RawChunk:
    data: dict[str, Any] = {}
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    for name, col in zip(header, columns, strict=True):
        arr = np.empty(len(col), dtype=object)
        arr[:] = col
        # Empty CSV cells mean "missing", as in every spreadsheet export.
        arr[arr == ""] = None
        data[name] = arr
    frame = pd.DataFrame(data, columns=header)
    return RawChunk(index, frame, np.asarray(lines, dtype=np.int64), bad)


def _jsonl_chunks(path: Path, chunk_rows: int) -> Iterator[RawChunk]:
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    bad: list[Malformed] = []
    index = 0
    with _open_text(path) as fh:
        for lineno, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                bad.append(
                    Malformed(
                        lineno,
                        f"invalid JSON: {exc.msg} at column {exc.colno}",
                        "a JSON object",
                        text.rstrip("\n"),
                    )
                )
                continue
            if not isinstance(obj, dict):
                bad.append(
                    Malformed(
                        lineno, f"a JSON {type(obj).__name__} instead of an object", "a JSON object", obj
                    )
                )
                continue
            records.append(obj)
            lines.append(lineno)
            if len(records) >= chunk_rows:
                yield RawChunk(index, _records_frame(records), np.asarray(lines, dtype=np.int64), bad)
                index += 1
                records, lines, bad = [], [], []
    if records or bad or index == 0:
        yield RawChunk(index, _records_frame(records), np.asarray(lines, dtype=np.int64), bad)


def _records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    if not records:
        return pd.DataFrame()
    columns: dict[str, None] = {}
    for r in records:
        for k in r:
            columns.setdefault(str(k), None)
    return pd.DataFrame({c: pd.Series([r.get(c) for r in records], dtype=object) for c in columns})


def _json_array_chunks(path: Path, chunk_rows: int) -> Iterator[RawChunk]:
    with _open_text(path) as fh:
        text = fh.read()
    stripped = text.lstrip()
    if not stripped.startswith("["):
        # A .json file with one object per line is JSON Lines under another name.
        yield from _jsonl_chunks(path, chunk_rows)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"invalid JSON: {exc.msg}",
            expected="a JSON array of objects",
            location=Location(str(path), exc.lineno),
        ) from exc
    records: list[dict[str, Any]] = []
    positions: list[int] = []
    bad: list[Malformed] = []
    for pos, obj in enumerate(data, start=1):
        if isinstance(obj, dict):
            records.append(obj)
            positions.append(pos)
        else:
            bad.append(Malformed(pos, f"array element is a JSON {type(obj).__name__}", "a JSON object", obj))
    for index, start in enumerate(range(0, max(len(records), 1), chunk_rows)):
        part = records[start : start + chunk_rows]
        yield RawChunk(
            index,
            _records_frame(part),
            np.asarray(positions[start : start + chunk_rows], dtype=np.int64),
            bad if index == 0 else [],
        )


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[RawChunk]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid etc.
        raise DataError(f"unreadable Parquet file: {exc}", location=Location(file=str(path))) from exc
    row = 1
    index = 0
    for batch in pf.iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        lines = np.arange(row, row + len(frame), dtype=np.int64)
        row += len(frame)
        yield RawChunk(index, frame.reset_index(drop=True), lines)
        index += 1
    if index == 0:
        yield RawChunk(0, pf.schema_arrow.empty_table().to_pandas(), np.zeros(0, dtype=np.int64))
