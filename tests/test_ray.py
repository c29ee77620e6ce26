"""The Ray Data integration on a local Ray cluster (num_cpus=2) against the emulator."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from ollama_async.ray import OllamaPredictor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    """A separate process: Ray's workers reach it over loopback while this test blocks."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "ollama_async.testing", "--port", str(port)],
                            stdout=subprocess.PIPE, cwd=ROOT)  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.readline()
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
    proc.stdout.close()


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})  # fmt: skip
    yield
    ray.shutdown()


def test_map_batches_adds_response_columns(emulator_url: str, local_ray: None) -> None:
    rows = [{"prompt": f"question {i}", "id": i} for i in range(40)]
    rows[7]["prompt"] = ""  # an empty prompt loads the model: a valid, empty answer
    ds = ray.data.from_items(rows)
    out = ds.map_batches(
        OllamaPredictor,
        fn_constructor_kwargs={"model": "llama3.2", "host": emulator_url, "max_concurrent": 4,
                               "options": {"num_predict": 6}},
        batch_size=10,
        concurrency=1,
    ).take_all()  # fmt: skip
    assert sorted(r["id"] for r in out) == list(range(40))
    by_id = {r["id"]: r for r in out}
    assert all(by_id[i]["error"] is None for i in range(40))
    assert by_id[0]["eval_count"] == 6 and by_id[0]["response"]
    assert by_id[0]["eval_duration"] > 0 and by_id[7]["response"] == ""


def test_a_failing_row_does_not_fail_the_batch(emulator_url: str) -> None:
    predictor = OllamaPredictor(model="no-such-model", host=emulator_url)
    try:
        out = predictor({"prompt": ["a", "b"]})
    finally:
        predictor.close()
    assert out["response"] == [None, None]
    assert all(e.startswith("ModelNotFoundError") for e in out["error"])
