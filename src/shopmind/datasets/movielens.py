"""MovieLens-100k in both common layouts.

* the original GroupLens files: ``u.data`` (tab-separated ``user item rating timestamp``, no header),
  ``u.item`` (``|``-separated, latin-1: id, title, release date, video release date, IMDb URL and
  19 genre flags) and ``u.user`` (``|``-separated: id, age, gender, occupation, zip code);
* RecBole atomic files ``ml-100k.inter/.item/.user``: tab-separated with ``name:type`` headers
  (``user_id:token item_id:token rating:float timestamp:float`` …; genres space-separated in
  ``class:token_seq``).

Citation: F. M. Harper and J. A. Konstan, *The MovieLens Datasets: History and Context*, ACM TiiS 5(4),
2015. Ids are returned as strings (shopmind's external ids) and ratings **in file order**, which the
MS-Recommenders stratified split depends on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopmind.data.dataset import Dataset, EventWeights
from shopmind.datasets._io import bad_line, check_numeric, read_table, require_columns, resolve
from shopmind.errors import DataError

RATING_FILES = ("u.data", "ml-100k.inter")
ITEM_FILES = ("u.item", "ml-100k.item")
USER_FILES = ("u.user", "ml-100k.user")

GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
"""The 19 genre flags of ``u.item``, in column order."""

RATING_COLUMNS = ("user_id", "item_id", "rating", "timestamp")


def _is_atomic(path: Path) -> bool:
    # GroupLens' own files are u.data/u.item/u.user (u.item has the same suffix as a RecBole file)
    return path.suffix in {".inter", ".item", ".user"} and not path.name.startswith("u.")


def _read_atomic(path: Path) -> pd.DataFrame:
    """A RecBole atomic file: tab-separated, header ``name:type``; columns renamed to ``name``."""
    frame = read_table(path, sep="\t", header=0)
    renamed = {}
    for col in frame.columns:
        name, sep, kind = col.partition(":")
        if not sep or kind not in {"token", "token_seq", "float", "float_seq"}:
            raise bad_line(path, 1, "bad atomic-file header", col, "name:type with a RecBole type", col)
        renamed[col] = name
    return frame.rename(columns=renamed)


def _read_pipe(path: Path, n_fields: int, encoding: str) -> list[list[str]]:
    rows = []
    with path.open(encoding=encoding, newline="") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("|")
            if len(parts) != n_fields:
                raise bad_line(path, lineno, "wrong number of '|' fields", len(parts), f"{n_fields} fields")
            rows.append(parts)
    return rows


def load_movielens_ratings(path: str | Path) -> pd.DataFrame:
    """Ratings in FILE ORDER: ``user_id`` (str), ``item_id`` (str), ``rating`` (float64),
    ``timestamp`` (int64 unix seconds).

    ``path`` is ``u.data``, ``ml-100k.inter`` or a folder holding one of them.
    """
    file = resolve(path, RATING_FILES, "MovieLens ratings")
    if _is_atomic(file):
        frame = _read_atomic(file)
        require_columns(frame, RATING_COLUMNS, file)
        header = 1
    else:
        frame = read_table(file, sep="\t", header=None)
        if frame.shape[1] != 4:
            raise bad_line(file, 1, "wrong number of tab-separated fields", frame.shape[1], "4 fields")
        frame.columns = list(RATING_COLUMNS)
        header = 0
    frame = frame[list(RATING_COLUMNS)].copy()
    for col in ("user_id", "item_id"):
        empty = frame[col].str.strip() == ""
        if empty.any():
            pos = int(empty.to_numpy().nonzero()[0][0])
            raise bad_line(file, pos + 1 + header, "empty id", frame[col].iloc[pos], "a non-empty id", col)
    rating = check_numeric(frame, "rating", file, header_lines=header)
    if ((rating < 0) | (rating > 10)).any():
        pos = int(((rating < 0) | (rating > 10)).to_numpy().nonzero()[0][0])
        raise bad_line(file, pos + 1 + header, "rating out of range", rating.iloc[pos], "0..10", "rating")
    frame["rating"] = rating
    frame["timestamp"] = check_numeric(frame, "timestamp", file, header_lines=header).astype("int64")
    return frame.reset_index(drop=True)


def load_movielens_items(path: str | Path) -> pd.DataFrame:
    """Movies as catalogue rows: ``id``, ``title``, ``category`` (list of genres), ``attributes``
    (``{"year": int | None, "genres": [...]}``, plus ``imdb_url`` in the original layout)."""
    file = resolve(path, ITEM_FILES, "MovieLens items")
    ids, titles, cats, attrs = [], [], [], []
    if _is_atomic(file):
        frame = _read_atomic(file)
        require_columns(frame, ("item_id", "movie_title"), file)
        years = frame["release_year"] if "release_year" in frame else pd.Series("", index=frame.index)
        classes = frame["class"] if "class" in frame else pd.Series("", index=frame.index)
        for iid, title, year, genres in zip(
            frame["item_id"], frame["movie_title"], years, classes, strict=True
        ):
            g = genres.split()
            ids.append(iid)
            titles.append(title or iid)
            cats.append(g)
            attrs.append({"year": int(year) if year.isdigit() else None, "genres": g})
    else:
        # latin-1: the original u.item holds titles like "Misérables, Les (1995)" in ISO-8859-1.
        for lineno, parts in enumerate(_read_pipe(file, 5 + len(GENRES), "latin-1"), start=1):
            flags = parts[5:]
            if any(f not in {"0", "1"} for f in flags):
                raise bad_line(file, lineno, "genre flags must be 0/1", flags, "19 flags of 0 or 1")
            g = [name for name, f in zip(GENRES, flags, strict=True) if f == "1"]
            date = parts[2].strip()
            year = int(date[-4:]) if len(date) >= 4 and date[-4:].isdigit() else None
            ids.append(parts[0])
            titles.append(parts[1] or parts[0])
            cats.append(g)
            attrs.append(
                {"year": year, "genres": g, "release_date": date or None, "imdb_url": parts[4] or None}
            )
    return pd.DataFrame({"id": ids, "title": titles, "category": cats, "attributes": attrs})


def load_movielens_users(path: str | Path) -> pd.DataFrame:
    """Users: ``id`` and ``attributes`` (age, gender, occupation, zip_code)."""
    file = resolve(path, USER_FILES, "MovieLens users")
    if _is_atomic(file):
        frame = _read_atomic(file)
        require_columns(frame, ("user_id", "age", "gender", "occupation", "zip_code"), file)
        rows = frame[["user_id", "age", "gender", "occupation", "zip_code"]].to_numpy().tolist()
        first = 2
    else:
        rows = _read_pipe(file, 5, "latin-1")
        first = 1
    ids, attrs = [], []
    for lineno, (uid, age, gender, occ, zipc) in enumerate(rows, start=first):
        if not age.isdigit():
            raise bad_line(file, lineno, "age is not an integer", age, "an integer", "age")
        ids.append(uid)
        attrs.append({"age": int(age), "gender": gender, "occupation": occ, "zip_code": zipc})
    return pd.DataFrame({"id": ids, "attributes": attrs})


@dataclass(frozen=True)
class MovieLens:
    """The three MovieLens tables; :meth:`dataset` builds the training ``Dataset`` (rating events)."""

    ratings: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame

    def events(self) -> pd.DataFrame:
        """Ratings as shopmind events (``type`` = rating, ``value`` = stars), file order kept."""
        ev = self.ratings.rename(columns={"rating": "value"}).assign(type="rating")
        return ev[["user_id", "item_id", "type", "value", "timestamp"]]

    def dataset(self, weights: EventWeights | None = None) -> Dataset:
        return Dataset.from_frame(self.events(), items=self.items, users=self.users, weights=weights)


def load_movielens(path: str | Path) -> MovieLens:
    """All three tables from a folder in either layout (``u.*`` or ``ml-100k.*``)."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataError("MovieLens path must be a folder", value=str(folder), expected="a folder")
    ratings = load_movielens_ratings(folder)
    items = load_movielens_items(folder)
    users = load_movielens_users(folder)
    unknown = np.setdiff1d(ratings["item_id"].unique(), items["id"].to_numpy())
    if len(unknown):
        raise DataError("ratings reference items missing from the item file", value=unknown[:5].tolist())
    return MovieLens(ratings=ratings, items=items, users=users)
