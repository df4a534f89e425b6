"""A busy port is reported before anything slow happens (models loading, a demo shop being trained)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shopmind.api.server import check_port_free
from shopmind.cli import app as cli_app
from shopmind.errors import ConfigError


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield s.getsockname()[1]


def test_a_listening_port_is_refused_and_a_free_one_accepted(busy_port: int) -> None:
    with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{busy_port}") as err:
        check_port_free("127.0.0.1", busy_port)
    assert "--port" in (err.value.expected or "")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    check_port_free("127.0.0.1", free)


def test_demo_on_a_busy_port_stops_before_generating(tmp_path: Path, busy_port: int) -> None:
    data = tmp_path / "demo-data"
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    args = ["--store", url, "demo", "--size", "tiny", "--data-dir", str(data), "--port", str(busy_port)]
    result = CliRunner().invoke(cli_app, args)
    assert isinstance(result.exception, ConfigError), result.output
    assert not data.exists()  # nothing generated, ingested or trained


def test_serve_on_a_busy_port_stops_before_the_server_starts(
    tmp_path: Path, busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shopmind.api.server

    def served(*_: object, **__: object) -> None:
        raise AssertionError("the server was started on a busy port")

    monkeypatch.setattr(shopmind.api.server, "run_server", served)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    result = CliRunner().invoke(cli_app, ["--store", url, "serve", "--port", str(busy_port)])
    assert isinstance(result.exception, ConfigError), result.output
