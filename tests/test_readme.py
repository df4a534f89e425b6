"""Every command of README.md, run as a newcomer runs it.

The commands are *extracted* from the README's fenced ``bash`` blocks (a ``\\`` continuation joins
lines, ``#`` comments are dropped), so a README edit that breaks a command fails here; nothing is
copied by hand. They run in README order, each in its own ``bash`` in a temporary checkout-like
folder (``.venv`` and ``examples/`` linked in), with the shell state of the previous ones carried
over (``set -a``: ``export``, ``source .venv/bin/activate`` and ``VAR=$(...)`` all reach the next
command). A command passes when it exits 0, prints no traceback or ``error:`` line, and its output
passes the check listed for it in ``CHECKS``.

What is not run exactly as written is listed in the small tables below, each with its reason:
``make`` lines (``SKIPPED``, ``MAPPED``), servers (started in the background on a free port, checked
over HTTP, stopped), and the public benchmarks (``BENCHMARK_LIMITS``: the same command with an
option that bounds its run time, in a test of its own marked ``realdata``).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# ----------------------------------------------------------------- what does not run as written
SKIPPED = {
    "make test": "the test suite itself: this file runs inside it",
}
MAPPED = {
    # the Makefile's recipe (`make install` is this test's venv) on the tiny shop, to stay within minutes
    "make demo": ".venv/bin/shopmind demo --size tiny",
}
SERVERS = ("shopmind demo", "shopmind serve", ".venv/bin/shopmind demo")
"""Commands that serve until stopped: started in the background with ``--port <free port>`` and checked
with HTTP requests once ready; stopped with SIGINT (Ctrl+C): the demo at once (the tour must then leave
its shop unchanged), the tour's server after the last command (the README's curl lines use it)."""
README_PORT = "127.0.0.1:8000"
"""The address the README's curl lines use; rewritten to the tour server's port."""
STDIN = {
    "shopmind chat": "where is my order?\n有没有蓝牙耳机？\nquit\n",
}
BENCHMARK_LIMITS = {
    # as written, three of these take 5 to over 15 minutes each on 2 cores (intents 311 s; aus-retail and
    # chorus --mode all over 900 s); these options bound them (fewer shots or series; the chorus run
    # without encoding 19k products and cross-validating LTR) while the rest stays as the README has it
    "shopmind evaluate intents": ["--shots", "5"],
    "shopmind evaluate forecast --dataset aus-retail": ["--n-series", "5", "--test-windows", "1"],
    "shopmind evaluate search": ["--mode", "bm25"],
}
BENCHMARK_MARK = "../shared/datasets"
"""Commands reading the shared benchmark files run in ``test_readme_benchmark_commands`` (realdata)."""

SERVER_START_S = 600
COMMAND_TIMEOUT_S = 600


# ------------------------------------------------------------------------ extracting the commands
@dataclass(frozen=True)
class Command:
    text: str
    """The command as the README writes it (continuations joined, comment removed)."""
    line: int
    """Its first line in README.md."""
    block: str
    """The fenced block's language (``bash`` or ``python``/``toml`` for the code blocks)."""


def _strip_comment(line: str) -> str:
    """The line without a trailing ``# comment`` (a ``#`` inside quotes or a word stays)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def fenced_blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """``(language, line of the first body line, body lines)`` of every fenced block, in order."""
    blocks: list[tuple[str, int, list[str]]] = []
    lang: str | None = None
    body: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            if lang is None:
                lang, body, start = line[3:].strip(), [], number + 1
            else:
                blocks.append((lang, start, body))
                lang = None
        elif lang is not None:
            body.append(line)
    assert lang is None, f"README.md: the fenced block opened on line {start - 1} is never closed"
    return blocks


def shell_commands(text: str) -> list[Command]:
    """The commands of every ``bash``/``sh``/``shell`` block, in README order."""
    out: list[Command] = []
    for lang, start, body in fenced_blocks(text):
        if lang not in ("bash", "sh", "shell"):
            continue
        pending: list[str] = []
        first = 0
        for offset, raw in enumerate(body):
            line = raw if pending else _strip_comment(raw)
            if not pending:
                first = start + offset
                if not line.strip():
                    continue
            if line.rstrip().endswith("\\"):
                pending.append(line.rstrip()[:-1].rstrip())
                continue
            pending.append(_strip_comment(line).strip() if pending else line.strip())
            out.append(Command(" ".join(p.strip() for p in pending), first, lang))
            pending = []
        assert not pending, f"README.md line {first}: a continued command never ends"
    return out


def code_blocks(text: str, lang: str) -> list[Command]:
    return [
        Command("\n".join(body), start, lang) for b_lang, start, body in fenced_blocks(text) if b_lang == lang
    ]


def _matches(command: str, prefix: str) -> bool:
    return command == prefix or command.startswith(prefix + " ")


# ------------------------------------------------------------------------------ running commands
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _base_env(home: Path) -> dict[str, str]:
    """The developer's environment without their shopmind settings, plus a curl that fails on HTTP errors."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPMIND_") or k == "SHOPMIND_CACHE_DIR"}
    # curl reads $CURL_HOME/.curlrc: an HTTP status >= 400 exits 22 with the body shown, as a
    # script with `set -e` would need; the README's lines stay exactly as written
    (home / ".curlrc").write_text("fail-with-body\nshow-error\nsilent\n", encoding="utf-8")
    env.update(CURL_HOME=str(home), COLUMNS="200", TERM="dumb", PYTHONUNBUFFERED="1")
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def _checkout(root: Path) -> Path:
    """A folder that looks like the repository root to the README: ``.venv`` and ``examples/``."""
    repo = root / "repo"
    repo.mkdir()
    venv = Path(sys.prefix)
    if (venv / "bin" / "activate").is_file():
        (repo / ".venv").symlink_to(venv)
    else:  # a test run outside a virtual environment: an activate that puts this Python first
        (repo / ".venv" / "bin").mkdir(parents=True)
        (repo / ".venv" / "bin" / "activate").write_text(
            f'export PATH="{Path(sys.executable).parent}:$PATH"\n', encoding="utf-8"
        )
    (repo / "examples").symlink_to(ROOT / "examples")
    return repo


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str
    cpu_s: float
    """CPU seconds of the command and its children (wall time is noise on a shared 2-core machine)."""

    def tail(self) -> str:
        return f"--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"


class Shell:
    """Runs commands one ``bash`` at a time, carrying exported (``set -a``) state between them."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env
        self._state = cwd.parent / "shell-state"

    def run(self, command: str, stdin: str = "", timeout: float = COMMAND_TIMEOUT_S) -> Result:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        script = f'set -a\nset -o pipefail\n{command}\n__rc=$?\nenv -0 > "{self._state}"\nexit $__rc\n'
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if self._state.exists():
            pairs = self._state.read_bytes().decode().split("\0")
            self.env = dict(p.split("=", 1) for p in pairs if "=" in p)
            self._state.unlink()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return Result(done.returncode, done.stdout, done.stderr, cpu)


class Server:
    """A README command that serves: started in the background, waited for, stopped with Ctrl+C."""

    def __init__(self, shell: Shell, command: str, port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self._out = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            ["bash", "-c", f"exec {command} --port {port}"],
            cwd=shell.cwd,
            env=shell.env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def output(self) -> str:
        self._out.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = SERVER_START_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.output()[-6000:]}")
            try:
                with urllib.request.urlopen(self.url + "/health/ready", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(1.0)
        raise AssertionError(f"server not ready after {timeout:.0f} s:\n{self.output()[-6000:]}")

    def get(self, path: str, key: str | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path)
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl+C, as the README's "press Ctrl+C to stop"
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self._out.close()


# -------------------------------------------------------------------------- checks per command
SKU = re.compile(r"\bSKU\d{5}\b")


def _json(out: str) -> object:
    return json.loads(out)


def _check_search_json(out: str, cwd: Path, env: dict[str, str]) -> None:
    body = _json(out)
    assert isinstance(body, dict) and body["hits"], body
    prices = [h["price"] for h in body["hits"] if h.get("price") is not None]
    assert prices and all(20 <= p <= 100 for p in prices), prices  # the price=20..100 filter held


def _check_recs_json(out: str, cwd: Path, env: dict[str, str]) -> None:
    body = _json(out)
    assert isinstance(body, dict) and len(body["items"]) == 5, body
    assert all(r.get("reason") for r in body["items"]), body


def _check_events_json(out: str, cwd: Path, env: dict[str, str]) -> None:
    body = _json(out)
    assert isinstance(body, dict), body
    stored = json.loads((cwd / "examples" / "events.json").read_text(encoding="utf-8"))
    counted = sum(int(body.get(k, 0)) for k in ("inserted", "duplicates"))
    assert counted == len(stored), body  # every event stored (or already there on a re-run)


def _check_token(out: str, cwd: Path, env: dict[str, str]) -> None:
    assert env.get("TOKEN", "").startswith("smc1."), env.get("TOKEN")


def _check_keys(out: str, cwd: Path, env: dict[str, str]) -> None:
    for name in ("READ_KEY", "INGEST_KEY"):
        assert re.fullmatch(r"\S{20,}", env.get(name, "")), f"{name} is not one secret: {env.get(name)!r}"


def _check_secret(out: str, cwd: Path, env: dict[str, str]) -> None:
    assert re.fullmatch(r"\S{20,}\n", out), out  # only the secret on stdout: a script can capture it


def _check_rejects(out: str, cwd: Path, env: dict[str, str]) -> None:
    assert re.search(r"7 rows → 5 new, .* 2 rejected", out), out
    rejects = [json.loads(line) for line in (cwd / "var/tour/rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in rejects] == [(7, "price"), (8, "title")], rejects


def _check_clicks(out: str, cwd: Path, env: dict[str, str]) -> None:
    assert re.search(r"12 rows → 12 new, .* 0 rejected", out), out
    assert "add_to_basket→cart" in out and "buy→purchase" in out, out


def _check_quality(out: str, cwd: Path, env: dict[str, str]) -> None:
    report = json.loads((cwd / "var/tour/quality.json").read_text(encoding="utf-8"))
    assert report["counts"]["items"] == 405, report["counts"]  # the tiny shop's 400 + export.csv's 5


def _check_chat(out: str, cwd: Path, env: dict[str, str]) -> None:
    replies = [line for line in out.splitlines() if line.startswith("assistant>")]
    assert len(replies) == 2, out


def _check_forecast(out: str, cwd: Path, env: dict[str, str]) -> None:
    assert re.search(r"item SKU\d{5}: model \w+", out), out
    assert len(re.findall(r"\d{4}-\d{2}-\d{2}", out)) >= 28, out  # history tail + 28 days ahead


CHECKS: dict[str, Callable[[str, Path, dict[str, str]], None] | str] = {
    # prefix of a README command → a check of its output, or a regular expression stdout must match
    "shopmind generate": r"items\.jsonl",
    "shopmind ingest-dir": r"events from var/tiny/events\.csv: [\d,]+ rows → [\d,]+ new",
    "shopmind ingest items examples/export.csv": _check_rejects,
    "shopmind ingest events examples/clicks.csv": _check_clicks,
    "shopmind quality": _check_quality,
    "shopmind train": r"training run \S+",
    "shopmind models": r"\(current\)",
    "shopmind recommend --user": r"(?s)(SKU\d{5}.*){10}",
    "shopmind recommend --similar": r"similar to ",
    "shopmind search": r"SKU\d{5}",
    "shopmind chat": _check_chat,
    "shopmind forecast": _check_forecast,
    "shopmind keys create": _check_secret,
    "shopmind users erase": r"erased",
    "shopmind privacy purge": r"retention",
    "shopmind privacy audit": r"erase",
    "shopmind evaluate": r"\d\.\d{3}",
    "READ_KEY=": _check_keys,
    'curl -H "Authorization: Bearer $READ_KEY" "http': _check_search_json,
    "TOKEN=": _check_token,
    'curl -H "Authorization: Bearer $READ_KEY" -H "X-Customer-Token': _check_recs_json,
    'curl -H "Authorization: Bearer $INGEST_KEY" -H "Content-Type: application/json" -X POST': _check_events_json,
}
NO_OUTPUT_CHECK = ("source ", "export ")


def _check(command: str, result: Result, cwd: Path, env: dict[str, str]) -> str:
    where = f"README.md: `{command}` failed (exit {result.rc})\n{result.tail()}"
    assert result.rc == 0, where
    assert "Traceback" not in result.stderr, where
    assert not re.search(r"^error:", result.stderr, re.M), where
    if command.startswith(NO_OUTPUT_CHECK):
        return "exit 0"
    check = next((c for prefix, c in CHECKS.items() if command.startswith(prefix)), None)
    assert check is not None, f"README.md: no check for `{command}`: add one to CHECKS in {__file__}"
    if isinstance(check, str):
        assert re.search(check, result.stdout, re.M), (
            f"README.md: `{command}`: no /{check}/ in\n{result.tail()}"
        )
        return f"exit 0, stdout matches /{check}/"
    try:
        check(result.stdout, cwd, env)
    except (AssertionError, KeyError, ValueError) as exc:
        raise AssertionError(f"README.md: `{command}`: {exc!r}\n{result.tail()}") from exc
    return f"exit 0, {check.__name__}"


# --------------------------------------------------------------------------------------- tests
def test_commands_are_extracted_from_the_readme() -> None:
    """The extraction itself: continuations joined, comments dropped, every allow-list entry used."""
    commands = [c.text for c in shell_commands(README.read_text(encoding="utf-8"))]
    assert "make demo" in commands and "shopmind train" in commands, commands
    assert any(
        c.startswith("TOKEN=$(curl") and c.endswith('print(json.load(sys.stdin)["token"])\')')
        for c in commands
    )
    assert not any(re.search(r"\s#\s", c) for c in commands), commands  # no comment left over
    for table in (SKIPPED, MAPPED, STDIN, BENCHMARK_LIMITS):
        for prefix in table:
            assert any(c.startswith(prefix) for c in commands), (
                f"allow-list entry {prefix!r} names no README command any more"
            )
    text = "```bash\nfoo a \\\n  --b 'x # y'   # comment\n# only a comment\n\nbar \"#\"\n```\n"
    assert [c.text for c in shell_commands(text)] == ["foo a --b 'x # y'", 'bar "#"']


def test_shell_carries_state_and_a_failing_command_fails(tmp_path: Path) -> None:
    """What the tour relies on: exported and assigned variables reach the next command, and a command
    that exits non-zero or prints ``error:`` fails the check with the README line named."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shell = Shell(repo, _base_env(tmp_path))
    assert shell.run("export A=1 B=2; C=$(echo three)").rc == 0
    assert shell.run('echo "$A $B $C"').stdout == "1 2 three\n"
    with pytest.raises(AssertionError, match=r"`false` failed \(exit 1\)"):
        _check("false", shell.run("false"), repo, shell.env)
    with pytest.raises(AssertionError, match="failed"):
        _check("echo", shell.run("echo 'error: bad' >&2"), repo, shell.env)
    with pytest.raises(AssertionError, match="no check for"):
        _check("true", shell.run("true"), repo, shell.env)
    assert shell.run("false | true").rc != 0  # pipefail: a failing producer is not hidden


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def _demo_state(repo: Path) -> dict[str, object]:
    """What the tour must leave alone: the demo shop's store, model version and quality report."""
    db = sqlite3.connect(repo / "var" / "shopmind.db")
    try:
        counts = {
            t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("items", "events", "api_keys")
        }
    finally:
        db.close()
    current = repo / "var" / "artifacts" / "current"
    return {
        "counts": counts,
        "run": os.readlink(current),
        "quality": (repo / "var" / "reports" / "quality.json").read_bytes(),
    }


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path: Path, servers: list[Server]) -> None:
    """Each README command, in order, against a fresh shop; the tour leaves the demo shop as it was."""
    text = README.read_text(encoding="utf-8")
    repo = _checkout(tmp_path)
    shell = Shell(repo, _base_env(tmp_path))
    log: list[tuple[int, str, str]] = []
    demo_state: dict[str, object] | None = None
    tour_server: Server | None = None
    for cmd in shell_commands(text):
        command = cmd.text
        if BENCHMARK_MARK in command:
            log.append((cmd.line, command, "in test_readme_benchmark_commands (realdata)"))
            continue
        skip = next((why for prefix, why in SKIPPED.items() if _matches(command, prefix)), None)
        if skip:
            log.append((cmd.line, command, f"skipped: {skip}"))
            continue
        command = next((new for prefix, new in MAPPED.items() if _matches(command, prefix)), command)
        if command.startswith(SERVERS):
            server = Server(shell, command, _free_port(), tmp_path / f"server-{cmd.line}.log")
            servers.append(server)
            server.wait_ready()
            how = _check_server(server, repo)
            if " demo" in command:
                server.stop()  # the demo shop stays on disk; the tour must not change it
                demo_state = _demo_state(repo)
            else:
                tour_server = server
            log.append((cmd.line, command, how))
            continue
        if README_PORT in command:
            assert tour_server is not None, f"README.md line {cmd.line}: curl before any server was started"
            command = command.replace(README_PORT, f"127.0.0.1:{tour_server.port}")
        stdin = next((s for prefix, s in STDIN.items() if _matches(command, prefix)), "")
        result = shell.run(command, stdin=stdin)
        log.append(
            (cmd.line, cmd.text, f"{_check(command, result, repo, shell.env)} ({result.cpu_s:.1f} s CPU)")
        )

    python_blocks = code_blocks(text, "python")
    assert python_blocks, "README.md has no Python example any more"
    for block in python_blocks:
        script = tmp_path / f"readme-{block.line}.py"
        script.write_text(block.text, encoding="utf-8")
        result = shell.run(f"python {shlex.quote(str(script))}")
        assert result.rc == 0 and "Traceback" not in result.stderr, (
            f"README.md line {block.line}:\n{result.tail()}"
        )
        assert SKU.search(result.stdout), result.tail()
        log.append((block.line, "python block", "exit 0 on the tour's shop, item ids printed"))
    for block in code_blocks(text, "toml"):
        from shopmind.config import load_settings

        path = tmp_path / f"readme-{block.line}.toml"
        path.write_text(block.text, encoding="utf-8")
        tomllib.loads(block.text)
        load_settings(path, env={})  # the example settings file is valid (validated, not connected to)
        log.append((block.line, "toml block", "loads as settings"))

    assert demo_state is not None, "README.md: no `make demo` / `shopmind demo` ran"
    assert _demo_state(repo) == demo_state, "the README tour changed the demo shop's store, models or report"
    print("\n".join(f"README.md:{line:<4} {command[:90]:<90}  {how}" for line, command, how in log))


def _check_server(server: Server, repo: Path) -> str:
    """The storefront page, and a search with a read key: the one `demo` printed, or a fresh one."""
    status, page = server.get("/")
    assert status == 200 and b"<html" in page.lower(), (status, page[:300])
    printed = dict(re.findall(r"(admin|ingest|read) key\s+(\S+)", server.output()))
    key = printed.get("read")
    if key is None:  # `shopmind serve` prints no keys: the tour creates them with `shopmind keys create`
        return "background on a free port; /health/ready and storefront page 200"
    assert set(printed) == {"admin", "ingest", "read"}, server.output()[-3000:]
    status, body = server.get("/search?q=headphones&k=5", key)
    assert status == 200 and json.loads(body)["hits"], (status, body[:500])
    return "background on a free port; storefront 200; /search with the printed read key has hits"


@pytest.mark.slow
def test_readme_benchmark_commands(datasets_dir: Path, tmp_path: Path) -> None:
    """The README's public-benchmark commands, as written plus the bounding options of ``BENCHMARK_LIMITS``,
    from a folder whose ``../shared/datasets`` is the shared datasets folder."""
    commands = [c for c in shell_commands(README.read_text(encoding="utf-8")) if BENCHMARK_MARK in c.text]
    assert commands, "README.md lists no public-benchmark command any more"
    repo = _checkout(tmp_path)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "datasets").symlink_to(datasets_dir)
    shell = Shell(repo, _base_env(tmp_path))
    assert shell.run("source .venv/bin/activate").rc == 0
    for cmd in commands:
        extra = next((opts for prefix, opts in BENCHMARK_LIMITS.items() if cmd.text.startswith(prefix)), [])
        command = " ".join([cmd.text, *map(shlex.quote, extra)])
        _check(command, shell.run(command), repo, shell.env)
