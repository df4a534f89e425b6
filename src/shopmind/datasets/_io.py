"""Small helpers shared by the public-dataset loaders: path resolution, errors that name the file
and line, and conversion of loader frames into ``shopmind.data.schema`` records."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from pydantic import ValidationError

from shopmind.data.schema import Record
from shopmind.errors import DataError, Location

R = TypeVar("R", bound=Record)


def resolve(path: str | Path, candidates: Sequence[str], what: str) -> Path:
    """``path`` itself when it is a file, else the first of ``candidates`` inside the folder ``path``."""
    p = Path(path)
    if p.is_file():
        return p
    if p.is_dir():
        for name in candidates:
            if (p / name).is_file():
                return p / name
        raise DataError(f"no {what} file in folder", value=str(p), expected="one of " + ", ".join(candidates))
    raise DataError(f"{what} path does not exist", value=str(p), expected="an existing file or folder")


def bad_line(path: Path, line: int, message: str, value: object, expected: str, field: str | None = None):
    """A :class:`DataError` located at ``path`` line ``line`` (1-based, header included)."""
    return DataError(message, value=value, expected=expected, location=Location(str(path), line, field))


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            "missing columns",
            value=missing,
            expected="columns " + ", ".join(columns),
            location=Location(str(path), 1),
        )


def check_numeric(
    frame: pd.DataFrame, column: str, path: Path, *, header_lines: int = 1, integer: bool = False
) -> pd.Series:
    """``frame[column]`` as numbers; raises naming the first offending line when one does not parse."""
    raw = frame[column]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna() | raw.isna()
    if bad.any():
        pos = int(bad.to_numpy().nonzero()[0][0])
        raise bad_line(
            path,
            pos + 1 + header_lines,
            "not a number",
            raw.iloc[pos],
            "an integer" if integer else "a number",
            column,
        )
    if integer:
        frac = num % 1 != 0
        if frac.any():
            pos = int(frac.to_numpy().nonzero()[0][0])
            raise bad_line(
                path, pos + 1 + header_lines, "not an integer", raw.iloc[pos], "an integer", column
            )
        return num.astype("int64")
    return num.astype("float64")


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def frame_to_records(frame: pd.DataFrame, model: type[R], *, source: str | None = None) -> list[R]:
    """Validate each row of ``frame`` (columns named like ``model``'s fields) into ``model`` records.

    Columns that are not fields of ``model`` are ignored; missing values become the field default.
    A row that fails validation raises :class:`DataError` naming the row (0-based frame position) and
    the field."""
    fields = [c for c in frame.columns if c in model.model_fields]
    out: list[R] = []
    for pos, row in enumerate(frame[fields].itertuples(index=False, name=None)):
        data = {k: _clean(v) for k, v in zip(fields, row, strict=True)}
        data = {k: v for k, v in data.items() if v is not None}
        try:
            out.append(model(**data))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            raise DataError(
                f"row {pos} (0-based) is not a valid {model.__name__}: {err['msg']}",
                value=err.get("input"),
                expected=f"a valid {model.__name__}",
                location=Location(source, None, field),
            ) from exc
    return out


_PARSER_LINE = re.compile(r"line (\d+)")


def read_table(
    path: Path, *, sep: str, header: int | None = 0, encoding: str = "utf-8", quoting: int = csv.QUOTE_NONE
) -> pd.DataFrame:
    """All-string frame of a delimited file; a ragged line raises :class:`DataError` with its number."""
    try:
        return pd.read_csv(
            path,
            sep=sep,
            header=header,
            dtype=str,
            keep_default_na=False,
            quoting=quoting,
            encoding=encoding,
        )
    except pd.errors.ParserError as exc:
        m = _PARSER_LINE.search(str(exc))
        line = int(m.group(1)) if m else None
        raise DataError(
            "malformed delimited line",
            value=str(exc).strip(),
            expected=f"fields separated by {sep!r}",
            location=Location(str(path), line),
        ) from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            "undecodable bytes", value=str(exc), expected=encoding, location=Location(str(path))
        ) from exc
