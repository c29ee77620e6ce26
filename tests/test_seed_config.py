"""Configuration: ``ConfigManager`` as seed 003 writes it, the settings file and environment
(``ollama_async._settings``), hostile TOML, and the settings reaching manager and runner."""

from __future__ import annotations

import math
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ollama_async import Client, ConfigError
from ollama_async._settings import (
    OllamaConfig,
    default_config_path,
    dumps_config,
    load_config,
    read_config_file,
)
from ollama_async.runner import ConfigManager, ExecutionOptions, ModelRunner, OllamaManager
from ollama_async.testing import Emulator

ENV = ("OLLAMA_HOST", "OLLAMA_API_KEY", "OLLAMA_ASYNC_MODEL", "OLLAMA_ASYNC_AUTO_START",
       "OLLAMA_ASYNC_OUTPUT_DIR", "OLLAMA_ASYNC_TIMEOUT_IDLE", "OLLAMA_ASYNC_CONFIG")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OLLAMA_ASYNC_CONFIG", str(tmp_path / "default.toml"))


def test_the_seeds_configuration_pattern(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    config_mgr = ConfigManager(str(path))
    assert not path.exists()  # the constructor reads and writes nothing
    assert config_mgr.load_config() is False  # no file yet: defaults
    assert config_mgr.update_config(default_model="llama3.1:latest", auto_start_server=False)
    presets = config_mgr.get_execution_presets()
    creative_options = presets["creative"]
    assert isinstance(creative_options, ExecutionOptions)
    assert (creative_options.temperature, creative_options.max_tokens) == (0.9, 1024)
    assert set(presets) == {"fast", "creative", "balanced", "precise", "long_form"}
    assert config_mgr.save_config() is True
    again = ConfigManager(str(path))
    assert again.load_config() is True
    assert again.config.default_model == "llama3.1:latest"
    assert again.config.auto_start_server is False
    assert again.create_default_config() == OllamaConfig()
    assert again.reset_to_defaults() and again.config.default_model == "llama3.2"


def test_env_overrides_the_file_and_is_not_written_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[server]\nhost = "http://file:1"\n[defaults]\nmodel = "qwen3"\n')
    monkeypatch.setenv("OLLAMA_HOST", "http://env:2")
    monkeypatch.setenv("OLLAMA_ASYNC_AUTO_START", "0")
    cm = ConfigManager(str(path))
    cm.load_config()
    assert cm.config.base_url == "http://env:2" and cm.config.default_model == "qwen3"
    assert cm.config.auto_start_server is False
    cm.update_config(api_key="sk-123", retries=0)
    cm.save_config()
    text = path.read_text()
    assert "env:2" not in text and "http://file:1" in text and "retries = 0" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds a key
    assert "sk-123" not in repr(cm.config)
    export = tmp_path / "export.toml"
    assert cm.export_config(str(export)) is True
    assert "sk-123" not in export.read_text() and "qwen3" in export.read_text()
    monkeypatch.setenv("OLLAMA_ASYNC_AUTO_START", "maybe")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "OLLAMA_ASYNC_AUTO_START"
    monkeypatch.setenv("OLLAMA_ASYNC_AUTO_START", "yes")
    monkeypatch.setenv("OLLAMA_ASYNC_TIMEOUT_IDLE", "45")
    assert load_config(path).timeout_idle == 45.0
    for bad in ("nan", "-1", "soon"):
        monkeypatch.setenv("OLLAMA_ASYNC_TIMEOUT_IDLE", bad)
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert info.value.key == "OLLAMA_ASYNC_TIMEOUT_IDLE"


def test_model_configs_import_and_validation(tmp_path: Path) -> None:
    cm = ConfigManager(str(tmp_path / "c.toml"))
    assert cm.get_model_config("llama3.2") is None
    assert cm.save_model_config("llama3.2", {"preset": "precise", "max_tokens": 99}) is True
    assert cm.get_model_config("llama3.2") == {"preset": "precise", "max_tokens": 99}
    assert "max_tokens = 99" in (tmp_path / "c.toml").read_text()
    good = tmp_path / "good.toml"
    good.write_text('[defaults]\nmodel = "tiny"\n[presets.mine]\ntemperature = 0.3\n')
    assert cm.import_config(str(good)) is True
    assert cm.config.default_model == "tiny"
    assert cm.get_execution_presets()["mine"].temperature == 0.3
    assert cm.get_model_config("llama3.2") is not None  # import merges, keeps the rest
    bad = tmp_path / "bad.toml"
    for text, key in [('[server]\nhots = "x"\n', "server.hots"),
                      ('[defaults]\nmax_concurrent = "four"\n', "defaults.max_concurrent"),
                      ("[presets.p]\ntemprature = 1.0\n", "presets.p.temprature")]:  # fmt: skip
        bad.write_text(text)
        with pytest.raises(ConfigError) as info:
            cm.import_config(str(bad))
        assert info.value.key == key
        if key == "server.hots":
            assert "did you mean 'host'?" in str(info.value)
    assert cm.config.default_model == "tiny"  # a refused import changes nothing
    with pytest.raises(ConfigError) as info:
        cm.update_config(defualt_model="x")
    assert "default_model" in str(info.value)
    with pytest.raises(ConfigError):
        cm.update_config(auto_start_server="no")
    assert cm.validate_config() == {"valid": True, "warnings": [], "errors": []}
    cm.update_config(default_preset="nope")
    report = cm.validate_config()
    assert not report["valid"] and any("nope" in e for e in report["errors"])


@pytest.mark.parametrize(
    ("line", "key", "allowed"),
    [("[server]\ntimeout_idle = nan", "server.timeout_idle", "between 0.001 and 86400"),
     ("[server]\ntimeout_idle = inf", "server.timeout_idle", "between 0.001 and 86400"),
     ("[server]\ntimeout_connect = -1.0", "server.timeout_connect", "between 0.001"),
     ("[server]\nretries = -5", "server.retries", "between 0 and 100"),
     ("[defaults]\nmax_concurrent = 0", "defaults.max_concurrent", "between 1 and 1024"),
     ("[presets.x]\ntop_p = 1.5", "presets.x.top_p", "between 0 and 1"),
     ("[models.m]\ntimeout = -3", "models.m.timeout", "between 0.001")],
)  # fmt: skip
def test_out_of_range_values_are_refused_with_the_range(
    tmp_path: Path, line: str, key: str, allowed: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(line + "\n")
    with pytest.raises(ConfigError) as info:
        read_config_file(path)
    assert info.value.key == key and allowed in str(info.value)


@settings(max_examples=30, deadline=None)
@given(
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).filter(
            lambda v: not (math.isfinite(v) and 0.001 <= v <= 86400)
        ),
        st.integers(max_value=0),
    )
)
def test_every_bad_timeout_is_a_config_error(value: float) -> None:
    with pytest.raises(ConfigError) as info:
        OllamaConfig().updated(timeout_idle=value)
    assert info.value.key == "timeout_idle"


# Each example overwrites the one file it uses, so sharing tmp_path between examples is safe.
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(depth=st.integers(min_value=1, max_value=3000), kind=st.sampled_from(["[", "{x = "]))
@example(depth=1000, kind="[")
@example(depth=1000, kind="{x = ")
def test_nested_toml_of_any_depth_is_a_config_error(tmp_path: Path, depth: int, kind: str) -> None:
    close = "]" if kind == "[" else "}"
    inner = "" if kind == "[" else "1"
    path = tmp_path / "nested.toml"
    path.write_text(f"[server]\nretries = {kind * depth}{inner}{close * depth}\n")
    with pytest.raises(ConfigError) as info:  # RecursionError never escapes
        read_config_file(path)
    assert info.value.key in (str(path), "server.retries")


def test_invalid_toml_and_text_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    for data in (b"[server\n", b"\xff\xfe[server]\n"):
        path.write_bytes(data)
        with pytest.raises(ConfigError) as info:
            read_config_file(path)
        assert info.value.key == str(path)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20))
def test_any_preset_name_round_trips_through_tomli_w(tmp_path: Path, name: str) -> None:
    cm = ConfigManager(str(tmp_path / "rt.toml"))
    cm.update_config(presets={name: {"temperature": 0.4}, "schnéll": {"top_k": 3}})
    cm.save_config()
    again = ConfigManager(str(tmp_path / "rt.toml"))
    again.load_config()
    assert again.config.presets[name] == {"temperature": 0.4}
    assert again.get_execution_presets()["schnéll"].top_k == 3
    assert '[presets."schnéll"]' in dumps_config({"presets": {"schnéll": {"top_k": 3}}})


def test_default_config_path_is_per_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_ASYNC_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/xdg")
    assert default_config_path() == Path("/xdg/ollama_async/config.toml")
    monkeypatch.setenv("OLLAMA_ASYNC_CONFIG", "/elsewhere/c.toml")
    assert default_config_path() == Path("/elsewhere/c.toml")


async def test_the_config_reaches_manager_runner_and_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = Emulator()
    async with emu as url:
        path = tmp_path / "default.toml"
        path.write_text(
            f'[server]\nhost = "{url}"\ntimeout_idle = 42.0\nretries = 0\n'
            'auto_start_server = false\n'
            f'[defaults]\nmodel = "tiny"\noutput_dir = "{tmp_path / "saved"}"\n'
            '[models."tiny:latest"]\npreset = "precise"\nmax_tokens = 3\n'
        )  # fmt: skip
        manager = OllamaManager()  # every argument left at the seed's default
        runner = ModelRunner(manager)
        result = await runner.run_with_options(None, "hi")
        await manager.cleanup()
        assert result.success and result.model_name == "tiny"
        sent = emu.requests[-1].json
        assert sent["model"] == "tiny" and sent["options"]["num_predict"] == 3
        assert sent["options"]["temperature"] == 0.1  # the precise preset under it
        assert manager.base_url == url and manager.auto_start_server is False
        assert manager.client.transport.retry.retries == 0
        assert result.metadata is not None
        saved = Path(result.metadata["output_file"])
        assert saved.parent.parent.parent == tmp_path / "saved"
        await manager.cleanup()
        kwargs = load_config().client_kwargs()
        assert kwargs["timeouts"].idle == 42.0 and kwargs["host"] == url
        async with Client(**kwargs) as client:
            assert await client.is_running()
        # model options from [models."tiny:latest"], over the precise preset
        monkeypatch.setenv("OLLAMA_ASYNC_MODEL", "llama3.2")
        mgr = OllamaManager()
        runner2 = ModelRunner(mgr)
        r2 = await runner2.run_with_options(None, "x", save_output=False)
        await mgr.cleanup()
        assert r2.model_name == "llama3.2"
