"""The manager's CLI mode (use_http_api=False) against a stand-in `ollama` executable."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from ollama_async import ModelNotFoundError, ProgressResponse
from ollama_async.manage import OllamaManager
from ollama_async.manage._executable import parse_size
from ollama_async.types import ModelInfo

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
    m = OllamaManager(use_http_api=False, ollama_path=ollama_exe)
    try:
        assert await m.is_running()
        models = await m.list_models()
        assert models == [ModelInfo(name="llama3.2:latest", model="llama3.2:latest",
                                    digest="a80c4f17acd5", size=2_000_000_000,
                                    modified_at="3 weeks ago")]  # fmt: skip
        seen: list[ProgressResponse] = []
        final = await m.download_model("qwen3", on_progress=seen.append)
        assert final.status == "success"
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
        answer = await m.run_model("qwen3", "Why is the sky blue?")
        assert answer.done and "Rayleigh" in answer.response
        await m.delete_model("qwen3")
        assert not await m.is_model_available("qwen3")
        with pytest.raises(ModelNotFoundError):
            await m.delete_model("qwen3")
        with pytest.raises(Exception, match="does not exist"):
            await m.download_model("missing-model")
        stats = await m.get_model_stats()
        assert stats.count == 1 and stats.total_size == 2_000_000_000
    finally:
        await m.cleanup()


def test_sizes_as_ollama_prints_them() -> None:
    assert parse_size("1.3 GB") == 1_300_000_000 and parse_size("96 B") == 96
    assert parse_size("4.7 GiB") == int(4.7 * 2**30) and parse_size("?") == 0
    assert json.dumps(parse_size("0 B")) == "0"
