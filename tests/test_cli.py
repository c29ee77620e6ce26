"""The command line: in-process through ``main([...])`` against the emulator on a background
thread, and as a real subprocess where pipes, signals and terminals matter."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ollama_async import __version__
from ollama_async.cli import main
from ollama_async.cli._registry import REGISTRY, build_parser
from tests.cli_helpers import ROOT, ThreadEmulator, free_port, run_in_pty

NO_RICH = "import sys; sys.modules['rich'] = None; "


@pytest.fixture(scope="module")
def emu() -> Iterator[ThreadEmulator]:
    server = ThreadEmulator()
    yield server
    server.close()


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


CLI = Callable[..., Run]


class TTYInput(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def cli(
    emu: ThreadEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[CLI]:
    """``cli(*argv, stdin=...)`` runs ``main`` in-process with OLLAMA_HOST on the emulator."""
    monkeypatch.setenv("OLLAMA_HOST", emu.url)

    def run(*argv: str, stdin: str | io.StringIO = "") -> Run:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", stdin if isinstance(stdin, io.StringIO) else
                            io.StringIO(stdin))  # fmt: skip
        code = main(list(argv))
        out, err = capsys.readouterr()
        return Run(code, out, err)

    yield run


def subprocess_cli(
    url: str, *args: str, stdin: str | None = None, prelude: str = ""
) -> subprocess.CompletedProcess[str]:
    """The CLI as a process; ``prelude`` runs first (``NO_RICH`` blocks rich's import)."""
    code = f"{prelude}from ollama_async.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", "import sys; " + code, *args],
        capture_output=True, text=True, input=stdin, timeout=60, cwd=ROOT,
        env={**os.environ, "OLLAMA_HOST": url, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


# -- the registry and the parser ---------------------------------------------------------


def _actions(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from ((f"{name} {n}", a) for n, a in _actions(sub))
        else:
            yield parser.prog, action


def test_every_command_comes_from_the_registry_and_every_argument_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(REGISTRY) and {"demo", "generate", "chat"} <= set(REGISTRY)
    missing = [f"{where}: {a.dest}" for where, a in _actions(parser) if not a.help]
    assert missing == []


def test_version(cli: CLI) -> None:
    r = cli("--version")
    assert r.code == 0 and r.out.strip() == f"ollama-async {__version__}"


def test_host_is_accepted_before_and_after_the_subcommand(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, emu: ThreadEmulator
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")  # nothing listens there
    assert cli("list").code == 3
    before, after = cli("--host", emu.url, "list"), cli("list", "--host", emu.url)
    assert before.code == after.code == 0 and "llama3.2:latest" in before.out
    assert before.out == after.out
    # Given twice, the one after the subcommand wins.
    assert cli("--host", f"127.0.0.1:{free_port()}", "list", "--host", emu.url).code == 0


BAD_USAGE = [
    ["bench", "llama3.2", "--runs", "0"],
    ["bench", "llama3.2", "--runs", "-2"],
    ["bench", "llama3.2", "--runs", "many"],
    ["batch", "-", "--concurrency", "0"],
    ["--timeout", "-1", "list"],
    ["list", "--timeout", "nan"],
    ["serve-emulator", "--port", "-5"],
    ["serve-emulator", "--tokens-per-second", "0"],
    ["batch", "/no/such/file.txt"],
    ["batch", "."],  # a directory
    ["generate", "llama3.2", "hi", "--format", "/no/such/schema.json"],
    ["generate", "llama3.2", "hi", "--format", "{not json"],
    ["generate", "llama3.2", "hi", "--format", "[1, 2]"],
    ["generate", "llama3.2", "hi", "-o", "temperature"],
    ["generate", "llama3.2", "hi", "-o", "no_such_option=1"],
    ["generate", "bad name", "hi"],
    ["--host", ":::", "list"],
    ["list", "--host", "ftp://example.com"],
    ["list", "--host", "http://[::1"],
    ["nonsense-command"],
    [],
]


@pytest.mark.parametrize("argv", BAD_USAGE, ids=lambda a: " ".join(a) or "nothing")
def test_bad_usage_exits_2_with_no_traceback_and_sends_nothing(
    cli: CLI, emu: ThreadEmulator, argv: list[str]
) -> None:
    before = len(emu.emulator.requests)
    r = cli(*argv)
    assert r.code == 2, r.err
    assert "Traceback" not in r.err and r.err.strip()
    assert len(emu.emulator.requests) == before


def test_an_undecodable_input_file_is_a_usage_error(cli: CLI, tmp_path: Path) -> None:
    src = tmp_path / "latin1.txt"
    src.write_bytes("café\n".encode("latin-1"))
    r = cli("batch", str(src))
    assert r.code == 2 and "not UTF-8" in r.err


def test_library_errors_are_one_line_with_their_exit_code(cli: CLI) -> None:
    r = cli("pull", "nothing/here")  # the emulator answers with an error line mid-stream
    assert r.code == 1 and r.err.startswith("error: ") and r.err.count("\n") == 1
    r = cli("show", "no-such-model")
    assert r.code == 4 and "not found" in r.err and r.err.count("\n") == 1
    r = cli("--host", f"127.0.0.1:{free_port()}", "list")
    assert r.code == 3 and "could not connect" in r.err and r.err.count("\n") == 1


def test_a_bad_ollama_host_is_a_usage_error(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", ":::")
    for argv in (["list"], ["chat", "llama3.2"], ["demo"]):
        r = cli(*argv)
        assert r.code == 2 and r.err.startswith("error: OLLAMA_HOST: ") and "Traceback" not in r.err


def test_a_password_in_the_host_is_never_printed(cli: CLI) -> None:
    r = cli("--host", f"http://me:s3cret@127.0.0.1:{free_port()}", "list")
    assert r.code == 3 and "s3cret" not in r.err and "127.0.0.1" in r.err


# -- generate --------------------------------------------------------------------------------


def test_generate_text_to_stdout_statistics_to_stderr(cli: CLI, emu: ThreadEmulator) -> None:
    r = cli("generate", "llama3.2", "Why", "is", "the", "sky", "blue?", "-o", "num_predict=7")
    assert r.code == 0
    assert len(r.out.split()) == 7 and "tokens/s" not in r.out
    assert re.fullmatch(r"\[7 tokens, [\d.]+ tokens/s\]\n", r.err)
    assert emu.emulator.requests[-1].json["prompt"] == "Why is the sky blue?"


def test_generate_reads_the_prompt_from_stdin(cli: CLI, emu: ThreadEmulator) -> None:
    assert cli("generate", "tiny", "-", stdin="from a pipe\n").code == 0
    assert emu.emulator.requests[-1].json["prompt"] == "from a pipe"
    assert cli("generate", "tiny", stdin="no dash, piped\n").code == 0
    assert emu.emulator.requests[-1].json["prompt"] == "no dash, piped"
    assert cli("generate", "tiny", "Summarise:", "-", stdin="text").code == 0
    assert emu.emulator.requests[-1].json["prompt"] == "Summarise: text"
    before = len(emu.emulator.requests)
    r = cli("generate", "tiny", stdin=TTYInput("never read"))  # a terminal: no prompt given
    assert r.code == 2 and "prompt" in r.err
    assert cli("generate", "tiny", "-", stdin="  \n").code == 2
    assert len(emu.emulator.requests) == before


def test_generate_system_format_and_typed_options(
    cli: CLI, emu: ThreadEmulator, tmp_path: Path
) -> None:
    r = cli("generate", "llama3.2", "hi", "--system", "Be brief.", "--format", "json",
            "-o", "temperature=0.5", "-o", "num_predict=4", "-o", "stop=[\"zzz\"]",
            "-o", "seed=3", "-o", "seed=4")  # fmt: skip
    assert r.code == 0, r.err
    body = emu.emulator.requests[-1].json
    assert body["system"] == "Be brief." and body["format"] == "json"
    assert body["options"] == {"temperature": 0.5, "num_predict": 4, "stop": ["zzz"], "seed": 4}
    json.loads(r.out)  # the structured answer alone, parseable
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert cli("generate", "llama3.2", "hi", "--format", json.dumps(schema)).code == 0
    assert emu.emulator.requests[-1].json["format"] == schema
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    assert cli("generate", "llama3.2", "hi", "--format", str(path)).code == 0
    assert emu.emulator.requests[-1].json["format"] == schema


# -- tables and views ------------------------------------------------------------------------


def test_list_columns_line_up_whatever_the_name_length(cli: CLI) -> None:
    long = "a-model-name-longer-than-forty-characters-to-check:latest"
    assert cli("cp", "tiny", long).code == 0
    try:
        lines = cli("list").out.splitlines()
    finally:
        assert cli("rm", long).code == 0
    header = lines[0]
    assert any(long in line for line in lines)
    for title in ("ID", "MODIFIED"):  # left-aligned columns start where their title does
        at = header.index(title)
        assert all(line[at - 1] == " " and line[at] != " " for line in lines[1:]), title
    size_end = header.index("SIZE") + len("SIZE")  # right-aligned: they end together
    assert all(line[size_end - 1] == "B" and line[size_end] == " " for line in lines[1:])


def test_pull_without_a_terminal_prints_one_plain_line_per_status(cli: CLI) -> None:
    r = cli("pull", "demo/plain-model")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0] == "pulling manifest" and lines[-1] == "success"
    assert r.out.count("success") == 1 and "\x1b" not in r.out and "\r" not in r.out
    assert len(lines) == len(set(lines)) == 9  # manifest, 5 layers, verify, write, success


def test_batch_jsonl_out_and_a_summary_on_stderr(cli: CLI, tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_text('first prompt\n{"prompt": "second", "options": {"num_predict": 3}}\n'
                   '{"model": "missing-model", "prompt": "x"}\n')  # fmt: skip
    out = tmp_path / "out.jsonl"
    r = cli("batch", str(src), "--concurrency", "2", "--output", str(out))
    assert r.code == 0, r.err
    records = sorted(
        (json.loads(x) for x in out.read_text().splitlines()), key=lambda x: x["index"]
    )
    assert [x["ok"] for x in records] == [True, True, False]
    assert records[1]["eval_count"] == 3 and "ModelNotFoundError" in records[2]["error"]
    assert r.err == "3 of 3 done, 1 failed\n"  # not a terminal: no bar, no control codes


def test_bench_show_ps_cp_rm_embed(cli: CLI) -> None:
    r = cli("bench", "llama3.2", "tiny", "--runs", "1")
    assert r.code == 0 and r.out.splitlines()[0].split() == ["MODEL", "TOKENS/S", "FIRST", "TOKEN"]
    assert [line.split()[0] for line in r.out.splitlines()[1:]] == ["llama3.2", "tiny"]
    r = cli("show", "llama3.2")
    assert r.code == 0 and "completion" in r.out and "fits in" in r.out
    assert "llama3.2:latest" in cli("ps").out  # loaded by bench
    assert cli("cp", "tiny", "tiny-cli-copy").code == 0
    assert "tiny-cli-copy:latest" in cli("list").out
    r = cli("rm", "tiny-cli-copy")
    assert r.code == 0 and "deleted" in r.out
    r = cli("embed", "nomic-embed-text", "a cat", "a dog")
    vectors = [json.loads(line) for line in r.out.splitlines()]
    assert len(vectors) == 2 and len(vectors[0]) == 768


def test_in_process_without_rich(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "rich" or m.startswith("rich.")] + ["rich"]:
        monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]
    r = cli("list")
    assert r.code == 0 and r.out.startswith("NAME")
    assert cli("pull", "demo/no-rich-model").out.count("success") == 1


# -- as a process: pipes, signals, terminals -------------------------------------------------


@pytest.mark.parametrize("prelude", ["", NO_RICH], ids=["rich", "no-rich"])
def test_a_closed_pipe_ends_quietly_with_exit_0(emu: ThreadEmulator, prelude: str) -> None:
    code = f"{prelude}from ollama_async.cli import main; sys.exit(main())"
    argv = [sys.executable, "-c", "import sys; " + code, "list"]
    env = {**os.environ, "OLLAMA_HOST": emu.url, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first byte is written
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(60) == 0 and err == ""
    # A real pipeline, with more output than a pipe holds: `embed … | head -c 10`.
    texts = " ".join(f"'text {i}'" for i in range(12))
    shell = (f"{sys.executable} -c \"import sys; {code}\" embed nomic-embed-text {texts} "
             "| head -c 10; echo \" ${PIPESTATUS[0]}\"")  # fmt: skip
    r = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, env=env,
                       timeout=60)  # fmt: skip
    assert r.stdout.endswith(" 0\n") and r.stderr == ""


def test_ctrl_c_exits_130_quietly() -> None:
    slow = ThreadEmulator(tokens_per_second=5)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ollama_async", "generate", "llama3.2", "a long story"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
            env={**os.environ, "OLLAMA_HOST": slow.url, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(1)  # the answer has begun
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
        err = proc.stderr.read().decode()
        proc.stdout.close()
        proc.stderr.close()
    finally:
        slow.close()
    assert code == 130 and err == ""


@pytest.mark.parametrize("prelude", ["", NO_RICH], ids=["rich", "no-rich"])
def test_pull_on_a_narrow_terminal_never_wraps(emu: ThreadEmulator, prelude: str) -> None:
    if not prelude:
        pytest.importorskip("rich")
    env = {**os.environ, "OLLAMA_HOST": emu.url, "PYTHONPATH": str(ROOT), "TERM": "xterm",
           "COLUMNS": "44"}  # fmt: skip
    code = f"import sys; {prelude}from ollama_async.cli import main; sys.exit(main())"
    text = run_in_pty([sys.executable, "-c", code, "pull", "demo/pty-model"], env, [])
    assert "\x1b[" in text and "Traceback" not in text  # drawn in place on a terminal
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    rows = [row for line in plain.split("\n") for row in line.split("\r")]
    assert max(len(row) for row in rows) <= 44
    assert "success" in plain
    if prelude:  # the plain bars: full only at 100 %, no ETA once done
        assert "100.0%" in plain and "ETA 0s" not in plain


def test_demo_runs_against_the_emulator_when_no_server_answers() -> None:
    r = subprocess_cli(f"http://127.0.0.1:{free_port()}", "demo")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "bundled emulator" in out
    assert "1. Streaming" in out and "2. A batch" in out and "3. Pulling" in out
    assert out.count("success") == 1 and "Done." in out


def test_entry_points_without_rich(emu: ThreadEmulator) -> None:
    r = subprocess_cli(emu.url, "list", prelude=NO_RICH)
    assert r.returncode == 0 and "llama3.2:latest" in r.stdout
    r = subprocess.run([sys.executable, "-m", "ollama_async", "--version"], capture_output=True,
                       text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert r.returncode == 0 and __version__ in r.stdout


def test_chat_repl_through_a_pty(emu: ThreadEmulator) -> None:
    env = {**os.environ, "OLLAMA_HOST": emu.url, "PYTHONPATH": str(ROOT), "TERM": "xterm"}
    text = run_in_pty(
        [sys.executable, "-m", "ollama_async", "chat", "llama3.2"],
        env,
        [(">>> ", "Why is the sky blue?\r"), (re.compile(r"blue\?\r\n[\s\S]*>>> "), "/bye\r")],
    )
    assert "Chatting with llama3.2" in text
    assert text.count(">>> ") >= 2  # answered, then prompted again


def test_ctrl_c_in_chat_stops_the_answer_not_the_program() -> None:
    slow = ThreadEmulator(tokens_per_second=5)
    try:
        env = {**os.environ, "OLLAMA_HOST": slow.url, "PYTHONPATH": str(ROOT)}
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
        slow.close()
    assert text.count("[stopped]") == 2  # two answers stopped, the program went on
    assert text.count(">>> ") >= 3 and "Traceback" not in text
