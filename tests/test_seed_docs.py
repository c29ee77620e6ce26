"""Every ```python block of the seed pages (docs/seeds/) runs, as a script, against the
emulator, which also holds the models the seeds name (llama3.1, codellama)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ollama_async.testing import Emulator

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs" / "seeds").glob("seed-*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
MODELS = ["llama3.2", "tiny", "qwen3", "nomic-embed-text", "llama3.1:latest", "codellama:latest"]
EXAMPLES = [(f"{p.name}#{i + 1}", code) for p in PAGES
            for i, code in enumerate(BLOCK.findall(p.read_text()))]  # fmt: skip


def test_a_page_per_seed_each_with_examples() -> None:
    seeds = sorted(p.name for p in PAGES)
    assert seeds == [f"seed-00{i}.md" for i in range(5)]
    for page in PAGES:
        assert BLOCK.search(page.read_text()), f"{page.name} runs no example"
    nav = (ROOT / "mkdocs.yml").read_text()
    assert all(f"seeds/{name}" in nav for name in seeds)


@pytest.fixture
async def emulator_url() -> AsyncIterator[str]:
    async with Emulator(models=MODELS, default_tokens=12) as url:
        yield url


@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
async def test_seed_page_example_runs(
    emulator_url: str, where: str, code: str, tmp_path: Path
) -> None:
    env = {**os.environ, "OLLAMA_HOST": emulator_url, "PYTHONPATH": str(ROOT),
           "OLLAMA_ASYNC_CONFIG": str(tmp_path / "config.toml")}  # fmt: skip
    env.pop("OLLAMA_API_KEY", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-W", "error", "-c", code, cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, f"{where} failed:\n{err.decode()[-3000:]}"
    assert b"Traceback" not in err and b"Exception ignored" not in err, err.decode()[-3000:]
    assert out.strip(), f"{where} printed nothing"
