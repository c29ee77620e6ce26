"""Every ```python block in docs/ and README.md runs, as a script, against the emulator.

Fragments that cannot run alone are fenced as ```py instead (shown, not run).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def examples() -> list[tuple[str, str]]:
    found = []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, code in enumerate(BLOCK.findall(md.read_text())):
            found.append((f"{md.name}#{i + 1}", code))
    return found


@pytest.fixture
async def emulator_url() -> AsyncIterator[str]:
    testing = pytest.importorskip("ollama_async.testing")
    async with testing.Emulator() as url:
        yield url


@pytest.mark.parametrize(("where", "code"), examples(), ids=[w for w, _ in examples()])
async def test_docs_example_runs(emulator_url: str, where: str, code: str, tmp_path: Path) -> None:
    env = {**os.environ, "OLLAMA_HOST": emulator_url, "PYTHONPATH": str(ROOT)}
    env.pop("OLLAMA_API_KEY", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        "-c",
        code,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, f"{where} failed:\n{err.decode()[-3000:]}"
