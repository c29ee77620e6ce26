"""The command line, run as a real subprocess against the emulator (and once through a pty)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    """The emulator as its own process, so every CLI call is a plain subprocess."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ollama_async.testing", "--port", str(port),
         "--tokens-per-second", "400"],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.readline()  # "listening on …"
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()


def cli(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OLLAMA_HOST": url}
    return subprocess.run(
        [sys.executable, "-m", "ollama_async", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_generate_list_show_ps(emulator_url: str) -> None:
    r = cli(emulator_url, "generate", "llama3.2", "Why", "is", "the", "sky", "blue?")
    assert r.returncode == 0, r.stderr
    assert "tokens/s" in r.stdout and len(r.stdout.split()) > 10
    r = cli(emulator_url, "list")
    assert r.returncode == 0 and "llama3.2:latest" in r.stdout and "NAME" in r.stdout
    r = cli(emulator_url, "show", "llama3.2")
    assert r.returncode == 0 and "capabilities" in r.stdout and "completion" in r.stdout
    assert "hardware fit" in r.stdout and "fits in" in r.stdout
    r = cli(emulator_url, "ps")
    assert r.returncode == 0 and "llama3.2:latest" in r.stdout  # loaded by generate


def test_cp_rm_and_embed(emulator_url: str) -> None:
    assert cli(emulator_url, "cp", "tiny", "tiny-cli-copy").returncode == 0
    assert "tiny-cli-copy:latest" in cli(emulator_url, "list").stdout
    r = cli(emulator_url, "rm", "tiny-cli-copy")
    assert r.returncode == 0 and "deleted" in r.stdout
    r = cli(emulator_url, "embed", "nomic-embed-text", "a cat", "a dog")
    vectors = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(vectors) == 2 and len(vectors[0]) == 768


def test_batch_jsonl_out(emulator_url: str, tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text('first prompt\n{"prompt": "second", "options": {"num_predict": 3}}\n'
                   '{"model": "missing-model", "prompt": "x"}\n')  # fmt: skip
    out = tmp_path / "out.jsonl"
    r = cli(emulator_url, "batch", str(src), "--concurrency", "2", "--output", str(out))
    assert r.returncode == 0, r.stderr
    records = sorted(
        (json.loads(x) for x in out.read_text().splitlines()), key=lambda x: x["index"]
    )
    assert [x["ok"] for x in records] == [True, True, False]
    assert records[1]["eval_count"] == 3 and "ModelNotFoundError" in records[2]["error"]


def test_bench_table(emulator_url: str) -> None:
    r = cli(emulator_url, "bench", "llama3.2", "tiny", "--runs", "1")
    assert r.returncode == 0, r.stderr
    assert "tokens/s" in r.stdout and "tiny" in r.stdout


def test_expected_failures_have_exit_codes_and_no_traceback(emulator_url: str) -> None:
    r = cli("http://127.0.0.1:9", "list")
    assert r.returncode == 3
    assert "could not connect" in r.stderr and "ollama serve" in r.stderr
    assert "Traceback" not in r.stderr
    r = cli(emulator_url, "show", "no-such-model")
    assert r.returncode == 4 and "not found" in r.stderr and "Traceback" not in r.stderr
    r = cli(emulator_url, "generate", "bad name", "hi")
    assert r.returncode == 2 and "model" in r.stderr
    r = cli(emulator_url, "nonsense-command")
    assert r.returncode == 2


def test_demo_runs_against_the_emulator_when_no_server_answers() -> None:
    r = cli(f"http://127.0.0.1:{free_port()}", "demo")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "bundled emulator" in out
    assert "1. Streaming" in out and "2. A batch" in out and "3. Pulling" in out
    assert "success" in out and "Done." in out


def run_in_pty(
    argv: list[str], env: dict[str, str], send: list[tuple[str | re.Pattern[str], str]],
    timeout: float = 30,
) -> str:  # fmt: skip
    """Run a command in a pseudo-terminal. For each (wait_for, then_type) step, wait until the
    output that came after the previous keystrokes shows ``wait_for`` (a string or a regex),
    then type ``then_type``. Returns the whole transcript."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, env)
    transcript = b""
    since = 0  # where the output after the last keystrokes begins
    deadline = time.monotonic() + timeout
    steps = list(send)
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                transcript += data
            if steps:
                wait_for, typed = steps[0]
                fresh = transcript[since:].decode(errors="replace")
                hit = wait_for in fresh if isinstance(wait_for, str) else wait_for.search(fresh)
                if hit:
                    steps.pop(0)
                    os.write(fd, typed.encode())
                    since = len(transcript)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    return transcript.decode(errors="replace")


def test_chat_repl_through_a_pty(emulator_url: str) -> None:
    env = {**os.environ, "OLLAMA_HOST": emulator_url, "PYTHONPATH": str(ROOT), "TERM": "xterm"}
    text = run_in_pty(
        [sys.executable, "-m", "ollama_async", "chat", "llama3.2"],
        env,
        [(">>> ", "Why is the sky blue?\r"), (re.compile(r"blue\?\r\n[\s\S]*>>> "), "/bye\r")],
    )
    assert "Chatting with llama3.2" in text
    assert text.count(">>> ") >= 2  # answered, then prompted again


def test_ctrl_c_stops_the_answer_not_the_program(tmp_path: Path) -> None:
    port = free_port()
    slow = subprocess.Popen(
        [sys.executable, "-m", "ollama_async.testing", "--port", str(port),
         "--tokens-per-second", "5"],
        stdout=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert slow.stdout is not None
    slow.stdout.readline()
    try:
        env = {**os.environ, "OLLAMA_HOST": f"127.0.0.1:{port}", "PYTHONPATH": str(ROOT)}
        text = run_in_pty(
            [sys.executable, "-m", "ollama_async", "chat", "llama3.2"],
            env,
            [(">>> ", "tell me a long story\r"),
             (re.compile(r"story\r\n\S"), "\x03"),  # an answer has begun: interrupt it
             (">>> ", "second question\r"),
             (re.compile(r"question\r\n\S"), "\x03"),
             (">>> ", "/bye\r")],
        )  # fmt: skip
    finally:
        slow.terminate()
        slow.wait(10)
        slow.stdout.close()
    assert text.count("[stopped]") == 2  # two answers stopped, the program went on
    assert text.count(">>> ") >= 3 and "Traceback" not in text


def test_pull_progress_through_a_pty(emulator_url: str) -> None:
    env = {**os.environ, "OLLAMA_HOST": emulator_url, "PYTHONPATH": str(ROOT), "TERM": "xterm"}
    text = run_in_pty([sys.executable, "-m", "ollama_async", "pull", "demo/pty-model"], env, [])
    assert "overall" in text and "100.0%" in text and "success" in text
    assert "\x1b[" in text  # redrawn in place on a terminal


async def test_main_is_importable_without_rich() -> None:
    from ollama_async.cli import _main as _cli

    assert _cli.build_parser().parse_args(["list"]).command == "list"
    await asyncio.sleep(0)
