"""The manager's CLI mode (use_http_api=False) against a stand-in `ollama` executable."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from ollama_async import ModelNotFoundError, ProgressResponse, ResponseError
from ollama_async._settings import OllamaConfig
from ollama_async.manage import (
    CommandModelNotFoundError,
    ExecutableNotFoundError,
    OllamaCLI,
    OllamaCommandError,
    OllamaManager,
    OllamaModel,
)
from ollama_async.manage._executable import parse_size

STAND_IN = r"""
import json, sys, time
from pathlib import Path
state = Path(__file__).with_name("models.json")
models = json.loads(state.read_text()) if state.exists() else {"llama3.2:latest": "2.0 GB"}
cmd, args = sys.argv[1], sys.argv[2:]
def save(): state.write_text(json.dumps(models))
def full(name): return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"
if cmd == "list":
    print(f"{'NAME':<24}{'ID':<16}{'SIZE':<10}MODIFIED")
    for name, size in models.items():
        print(f"{name:<24}{'a80c4f17acd5':<16}{size:<10}3 weeks ago")
elif cmd == "pull":
    if "missing" in args[0]:
        print("pulling manifest", flush=True)
        print("Error: pull model manifest: file does not exist", file=sys.stderr)
        sys.exit(1)
    out = sys.stdout
    out.write("\x1b[?25lpulling manifest \x1b[K\n")
    for pct in (0, 40, 100):
        done = 1.3 * pct / 100
        bar = "\u2595\u2588\u2588\u258f"
        out.write(f"\rpulling dde5aa3fc5ff... {pct:3d}% {bar} {done:.1f} GB/1.3 GB")
        out.flush(); time.sleep(0.01)
    out.write("\nverifying sha256 digest\nwriting manifest\nsuccess \x1b[?25h\n")
    models[full(args[0])] = "1.3 GB"; save()
elif cmd == "rm":
    if full(args[0]) not in models:
        print(f"Error: model '{args[0]}' not found", file=sys.stderr); sys.exit(1)
    del models[full(args[0])]; save(); print(f"deleted '{args[0]}'")
elif cmd == "run":
    print("The sky is blue because of Rayleigh scattering.")
elif cmd == "cp":
    print("Error: something unexpected broke", file=sys.stderr); sys.exit(3)
else:
    sys.exit(2)
"""


@pytest.fixture
def ollama_exe(tmp_path: Path) -> str:
    script = tmp_path / "ollama"
    script.write_text(f"#!{sys.executable}\n{STAND_IN}")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


async def test_list_pull_delete_and_run_through_the_executable(ollama_exe: str) -> None:
    # No server here: auto-start off, the executable does the work (the seed's use_http_api).
    config = OllamaConfig(auto_start_server=False)
    m = OllamaManager(ollama_exe, False, use_http_api=False, config=config)
    try:
        assert await m.is_running()
        models = await m.list_models()
        assert models == [OllamaModel(name="llama3.2:latest", id="a80c4f17acd5",
                                      size=2_000_000_000, modified="3 weeks ago")]  # fmt: skip
        seen: list[ProgressResponse] = []
        assert await m.download_model("qwen3", on_progress=seen.append) is True
        layer = [p for p in seen if p.digest]
        assert [p.completed for p in layer] == [0, 500_000_000, 1_300_000_000]  # "0.5 GB"
        assert all(p.total == 1_300_000_000 and p.digest == "dde5aa3fc5ff" for p in layer)
        assert [p.status for p in seen if not p.digest] == [
            "pulling manifest",
            "verifying sha256 digest",
            "writing manifest",
            "success",
        ]
        assert await m.is_model_available("qwen3")
        answer = await m.run_model("qwen3", "Why is the sky blue?", save_output=False)
        assert answer.success and "Rayleigh" in answer.response
        await m.delete_model("qwen3")
        assert not await m.is_model_available("qwen3")
        with pytest.raises(ModelNotFoundError) as info:
            await m.delete_model("qwen3")
        err = info.value
        # Typed from the command's message, with the command's facts; no invented URL.
        assert isinstance(err, CommandModelNotFoundError) and err.model == "qwen3"
        assert err.command == ("rm", "qwen3") and err.returncode == 1 and err.url == ""
        assert await m.download_model("missing-model") is False
        assert isinstance(m.last_error, ModelNotFoundError)
        assert "does not exist" in str(m.last_error)
        stats = await m.get_model_stats()
        assert stats["total_models"] == 1 and stats["total_size"] == 2_000_000_000
    finally:
        await m.cleanup()


async def test_command_failures_are_command_errors_not_http_errors(ollama_exe: str) -> None:
    cli = OllamaCLI(ollama_exe)
    with pytest.raises(OllamaCommandError) as info:
        await cli._run("cp", "a", "b")
    assert not isinstance(info.value, ResponseError)
    assert info.value.returncode == 3 and "unexpected broke" in info.value.stderr
    missing = OllamaCLI("/no/such/ollama")
    with pytest.raises(ExecutableNotFoundError) as gone:
        await missing.list_models()
    assert gone.value.executable == "/no/such/ollama" and "/no/such/ollama" in str(gone.value)
    with pytest.raises(ExecutableNotFoundError):
        async for _ in missing.pull("qwen3"):
            pass


def test_sizes_as_ollama_prints_them() -> None:
    assert parse_size("1.3 GB") == 1_300_000_000 and parse_size("96 B") == 96
    assert parse_size("4.7 GiB") == int(4.7 * 2**30) and parse_size("?") == 0
    assert json.dumps(parse_size("0 B")) == "0"
