"""The settings file is used: by ``Client.from_config`` and by the CLI, the environment over
the file and explicit arguments over both."""

from __future__ import annotations

from pathlib import Path

import pytest

from ollama_async import Client, ConfigError, RetryPolicy, Timeouts
from ollama_async._settings import OllamaConfig, config_to_data, dumps_config
from ollama_async.cli import main
from ollama_async.testing import Emulator


def write_config(path: Path, **settings: object) -> Path:
    path.write_text(dumps_config(config_to_data(OllamaConfig(**settings))), encoding="utf-8")  # type: ignore[arg-type]
    return path


async def test_from_config_reads_host_timeouts_and_retries(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    cfg = write_config(tmp_path / "c.toml", base_url=emu.url, timeout_idle=42.0, retries=0)
    async with Client.from_config(cfg) as c:
        assert c.base_url == emu.url
        assert c.transport.timeouts.idle == 42.0 and c.transport.retry.retries == 0
        assert (await c.generate("tiny", "hi")).done
    async with Client.from_config(cfg, retry=RetryPolicy(retries=5)) as c:
        assert c.transport.retry.retries == 5  # an argument wins over the file


async def test_the_environment_wins_over_the_file(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write_config(tmp_path / "c.toml", base_url="http://127.0.0.1:9")
    monkeypatch.setenv("OLLAMA_HOST", emu.url)
    async with Client.from_config(cfg, timeouts=Timeouts(idle=5)) as c:
        assert c.base_url == emu.url
        assert await c.is_running()


def test_a_bad_config_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nretries = -5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Client.from_config(bad)
    assert "retries" in str(info.value)


def test_the_cli_reads_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator() as url:  # served from a background thread for the sync CLI
        monkeypatch.delenv("OLLAMA_HOST", raising=False)
        monkeypatch.setenv(
            "OLLAMA_ASYNC_CONFIG", str(write_config(tmp_path / "c.toml", base_url=url))
        )
        assert main(["list"]) == 0
        assert "tiny" in capsys.readouterr().out
        # --host wins over the file
        monkeypatch.setenv(
            "OLLAMA_ASYNC_CONFIG",
            str(write_config(tmp_path / "d.toml", base_url="http://127.0.0.1:9", retries=0)),
        )
        assert main(["list", "--host", url]) == 0
        assert main(["list"]) != 0  # nothing listens at the file's host
