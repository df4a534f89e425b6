"""Run the service with uvicorn: ``run_server(settings, host, port, workers)``.

One worker serves the app object directly. Several workers need an import string, so the settings
(and the optional storefront read key) travel to the worker processes in environment variables
whose names do not start with ``SHOPMIND_`` (those are reserved for settings), and Prometheus runs
in multi-process mode (``PROMETHEUS_MULTIPROC_DIR``) so ``/metrics`` aggregates every worker.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
from typing import Any

from shopmind.config import Settings
from shopmind.errors import ConfigError

log = logging.getLogger(__name__)

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SETTINGS_ENV = "_SHOPMIND_SERVE_SETTINGS"
READ_KEY_ENV = "_SHOPMIND_WEB_READ_KEY"
DEMO_SIGN_IN_ENV = "_SHOPMIND_DEMO_SIGN_IN"


def run_server(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    *,
    web_read_key: str | None = None,
    demo_sign_in: bool = False,
) -> None:
    """Serve until interrupted. Defaults come from ``settings.server`` (host 127.0.0.1).

    ``web_read_key`` must be an unbound read-only key (checked at start-up); ``demo_sign_in``: see
    :func:`shopmind.api.app.create_app`.
    """
    import uvicorn

    from shopmind.api.logs import logging_config

    host = host or settings.server.host
    port = port or settings.server.port
    check_port_free(host, port)  # before any model is loaded
    single_threaded_math()
    workers = workers or settings.server.workers
    log_config = logging_config(settings)
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": log_config,
        "access_log": False,  # the service middleware logs every request with its route and duration
        "timeout_graceful_shutdown": 10,
        "http": "shopmind.api.protocol:NoDelayHttpProtocol",  # see that module: 40 ms per request without it
        "loop": "auto",  # uvloop when installed (a dependency), else asyncio
    }
    if workers == 1:
        from shopmind.api.app import create_app

        uvicorn.run(create_app(settings, web_read_key=web_read_key, demo_sign_in=demo_sign_in), **common)
        return
    os.environ[SETTINGS_ENV] = json.dumps(settings.model_dump(mode="json"))
    if web_read_key:
        os.environ[READ_KEY_ENV] = web_read_key
    if demo_sign_in:
        os.environ[DEMO_SIGN_IN_ENV] = "1"
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="shopmind-metrics-")
    uvicorn.run("shopmind.api.server:app_from_env", factory=True, workers=workers, **common)


def check_port_free(host: str, port: int) -> None:
    """``ConfigError`` when ``host:port`` cannot be bound (in use, or not an address of this machine),
    so that a busy port is reported at once instead of after the models have loaded."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # the same option uvicorn sets: a port left in TIME_WAIT by a stopped server counts as free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                value=port,
                expected="a free port: --port N, or [server] port in shopmind.toml",
            ) from exc


def single_threaded_math() -> None:
    """One BLAS/OpenMP/torch thread per serving process (unless the environment says otherwise).

    A request's math is small (one user's scores, one query vector); several threads per request
    only spin against each other and against the other requests and workers. Measured on the demo
    shop on a busy 2-core machine: recommend p50 20 → 12 ms, search p50 46 → 23 ms in-process.
    Parallelism comes from concurrent requests and ``--workers``.
    """
    for var in THREAD_ENV:
        os.environ.setdefault(var, "1")  # read by libraries imported later (torch, worker processes)
    if os.environ.get("OMP_NUM_THREADS") != "1":
        return
    # numpy's BLAS may already be loaded in this process (threadpoolctl comes with scikit-learn)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def app_from_env() -> Any:
    """App factory for uvicorn worker processes (see the module docstring)."""
    from shopmind.api.app import create_app

    single_threaded_math()
    raw = os.environ.get(SETTINGS_ENV)
    if raw:
        settings = Settings.model_validate(json.loads(raw))
    else:
        from shopmind.config import load_settings

        settings = load_settings()
    return create_app(
        settings,
        web_read_key=os.environ.get(READ_KEY_ENV) or None,
        demo_sign_in=os.environ.get(DEMO_SIGN_IN_ENV) == "1",
    )
