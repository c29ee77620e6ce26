"""The test kit as a user meets it: a throwaway project in a temp dir, run by pytest in a
subprocess of the environment the package is installed in (the README's ``pip install -e``),
with the package and its plugin found only as installed (no path of ours added).

The project's app and tests are the files shown in ``docs/testing.md`` (``# file: NAME``
blocks), so the page runs as written; a few cases the page only describes are added here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ollama_async

ROOT = Path(ollama_async.__file__).resolve().parents[1]
DOC = ROOT / "docs" / "testing.md"
FILE_BLOCK = re.compile(r"^```py\n# file: (\S+)\n(.*?)^```", re.S | re.M)

EXTRA_TESTS = """
import os

import pytest

from ollama_async import Client
from ollama_async.testing import Emulator


@pytest.mark.asyncio
async def test_forgot(ollama_emulator: Emulator) -> None:
    ollama_emulator.add_response(model="llama3.2", text="hello")


def test_opt_out_by_attribute(ollama_emulator: Emulator) -> None:
    ollama_emulator.assert_all_responses_were_requested = False
    ollama_emulator.add_response(text="never asked")


def test_host_points_at_the_emulator(ollama_emulator: Emulator) -> None:
    assert os.environ["OLLAMA_HOST"] == ollama_emulator.url


def test_host_is_restored_after() -> None:
    assert os.environ["OLLAMA_HOST"] == "http://before.invalid:1"


@pytest.mark.ollama_emulator(models=["only-this"], pace=1000)
@pytest.mark.asyncio
async def test_marker_models(ollama_emulator: Emulator) -> None:
    assert ollama_emulator.tokens_per_second == 1000
    async with Client() as client:
        assert [m.name for m in (await client.list()).models] == ["only-this:latest"]
"""

ANYIO_TESTS = """
import pytest

from ollama_async import Client
from ollama_async.testing import Emulator


@pytest.mark.anyio
async def test_under_anyio(ollama_emulator: Emulator) -> None:
    ollama_emulator.add_response(text="anyio runs it")
    async with Client() as client:
        assert (await client.generate("llama3.2", "hi")).response == "anyio runs it"


async def test_nothing_runs_this(ollama_emulator: Emulator) -> None:
    pass
"""


def user_project(tmp_path: Path, mode: str) -> Path:
    blocks = dict(FILE_BLOCK.findall(DOC.read_text()))
    assert {"weather.py", "test_weather.py"} <= set(blocks), "docs/testing.md lost its files"
    for name, code in blocks.items():
        (tmp_path / name).write_text(code)
    (tmp_path / "test_extra.py").write_text(EXTRA_TESTS)
    (tmp_path / "pytest.ini").write_text(
        f"[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    return tmp_path


def anyio_project(tmp_path: Path) -> Path:
    (tmp_path / "test_anyio.py").write_text(ANYIO_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    return tmp_path


def start_pytest(project: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OLLAMA_", "PYTEST_"))}
    env["OLLAMA_HOST"] = "http://before.invalid:1"
    env.pop("PYTHONPATH", None)  # the package and its plugin as installed, as a user has them
    # hypothesis is a plugin of our dev venv, not of the user's: 4 s of imports on a busy box.
    command = [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider"]
    return subprocess.Popen(
        [*command, "-p", "no:hypothesispytest", *args],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, str], str]]:
    """The three user runs, started together: outcome per test name, and the output."""
    started = {
        mode: start_pytest(user_project(tmp_path_factory.mktemp(mode), mode))
        for mode in ("strict", "auto")
    }
    # As if pytest-asyncio were not installed.
    started["anyio"] = start_pytest(
        anyio_project(tmp_path_factory.mktemp("anyio")), "-p", "no:asyncio"
    )
    results = {}
    for name, proc in started.items():
        out, _ = proc.communicate(timeout=120)
        found = re.findall(r"^(PASSED|FAILED|ERROR|SKIPPED) (\S+)", out, re.M)
        results[name] = ({test.split("::")[-1]: status for status, test in found}, out)
    return results


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_a_user_project_under_pytest_asyncio(
    runs: dict[str, tuple[dict[str, str], str]], mode: str
) -> None:
    outcomes, out = runs[mode]
    expected = {
        "test_structured_output": "PASSED",
        "test_tool_calls": "PASSED",
        "test_streamed_text_and_an_error_status": "PASSED",
        "test_a_sync_test_works_too": "PASSED",
        "test_a_cut_stream": "PASSED",
        "test_an_answer_left_on_purpose": "PASSED",
        "test_forgot": "FAILED",
        "test_opt_out_by_attribute": "PASSED",
        "test_host_points_at_the_emulator": "PASSED",
        "test_host_is_restored_after": "PASSED",
        "test_marker_models": "PASSED",
    }
    assert outcomes == expected, out[-4000:]
    assert "1 scripted answer(s) were never requested" in out
    assert "text 'hello' on any endpoint for model llama3.2:latest" in out


def test_anyio_runs_it_and_a_missing_plugin_says_what_to_install(
    runs: dict[str, tuple[dict[str, str], str]],
) -> None:
    outcomes, out = runs["anyio"]
    expected = {"test_under_anyio[asyncio]": "PASSED", "test_nothing_runs_this": "ERROR"}
    assert outcomes == expected, out[-4000:]
    assert "pip install 'ollama_async[testing]'" in out
