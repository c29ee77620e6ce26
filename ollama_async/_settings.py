"""Configuration: a TOML file and the environment, read into one :class:`OllamaConfig`.

The file's path is the argument, else ``OLLAMA_ASYNC_CONFIG``, else the platform's config
folder (``~/.config/ollama_async/config.toml`` on Linux). Its shape::

    [server]
    host = "http://127.0.0.1:11434"   # OLLAMA_HOST overrides
    api_key = "..."                   # OLLAMA_API_KEY overrides
    timeout_connect = 10.0            # seconds, finite, > 0
    timeout_idle = 300.0              # OLLAMA_ASYNC_TIMEOUT_IDLE overrides
    retries = 2                       # 0 to 100
    auto_start_server = true          # OLLAMA_ASYNC_AUTO_START overrides (1/0, true/false)
    ollama_binary = "ollama"
    use_http_api = true

    [defaults]
    model = "llama3.2"                # OLLAMA_ASYNC_MODEL overrides
    preset = "balanced"
    max_concurrent = 3                # 1 to 1024
    output_dir = "ollama_outputs"     # OLLAMA_ASYNC_OUTPUT_DIR overrides

    [models."llama3.2"]               # per model: ExecutionOptions fields, and a preset
    [presets.mine]                    # named ExecutionOptions

The environment overrides the file; nothing read from the environment is written back.
This module is core: it imports nothing from ``runner`` or ``manage``, which build on it.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from ._config import RetryPolicy, Timeouts
from ._errors import ConfigError
from ._hints import did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "OllamaConfig",
    "check_config",
    "config_from_data",
    "config_to_data",
    "default_config_path",
    "dumps_config",
    "load_config",
    "read_config_file",
]

_INF = math.inf
# attribute -> (section, key in the file, types, low, high); numbers outside [low, high] refused
_FIELDS: dict[str, tuple[str, str, tuple[type, ...], float, float]] = {
    "ollama_binary": ("server", "ollama_binary", (str,), 0, 0),
    "auto_start_server": ("server", "auto_start_server", (bool,), 0, 0),
    "base_url": ("server", "host", (str,), 0, 0),
    "use_http_api": ("server", "use_http_api", (bool,), 0, 0),
    "api_key": ("server", "api_key", (str,), 0, 0),
    "timeout_connect": ("server", "timeout_connect", (int, float), 1e-3, 86400),
    "timeout_idle": ("server", "timeout_idle", (int, float), 1e-3, 86400),
    "retries": ("server", "retries", (int,), 0, 100),
    "default_model": ("defaults", "model", (str,), 0, 0),
    "default_preset": ("defaults", "preset", (str,), 0, 0),
    "max_concurrent": ("defaults", "max_concurrent", (int,), 1, 1024),
    "output_dir": ("defaults", "output_dir", (str,), 0, 0),
}
OPTION_FIELDS: dict[str, tuple[tuple[type, ...], float, float]] = {
    "temperature": ((int, float), 0, 100), "top_p": ((int, float), 0, 1),
    "top_k": ((int,), 0, 1e9), "repeat_penalty": ((int, float), 0, 100),
    "max_tokens": ((int,), -2, 1e9), "timeout": ((int, float), 1e-3, 86400),
    "stream": ((bool,), 0, 0), "format": ((str,), 0, 0), "system_prompt": ((str,), 0, 0),
    "context_window": ((int,), 1, 1e9),
}  # fmt: skip
"""``ExecutionOptions`` fields a ``[presets.*]`` or ``[models.*]`` table may set, with ranges."""

_ENV: dict[str, str] = {
    "OLLAMA_HOST": "base_url",
    "OLLAMA_API_KEY": "api_key",
    "OLLAMA_ASYNC_MODEL": "default_model",
    "OLLAMA_ASYNC_AUTO_START": "auto_start_server",
    "OLLAMA_ASYNC_OUTPUT_DIR": "output_dir",
    "OLLAMA_ASYNC_TIMEOUT_IDLE": "timeout_idle",
}


@dataclass
class OllamaConfig:
    """Every setting the client, the manager and the runner read, with its default.

    ``base_url`` and ``api_key`` reach :class:`~ollama_async.Client` through
    :meth:`client_kwargs`; ``model_configs`` and ``presets`` hold ``ExecutionOptions`` fields
    per model and per preset name. The API key never shows in the repr.

    >>> OllamaConfig().default_model, OllamaConfig().auto_start_server
    ('llama3.2', True)
    >>> "secret" in repr(OllamaConfig(api_key="secret"))
    False
    """

    ollama_binary: str = "ollama"
    auto_start_server: bool = True
    base_url: str = "http://127.0.0.1:11434"
    use_http_api: bool = True
    default_model: str = "llama3.2"
    default_preset: str = "balanced"
    output_dir: str = "ollama_outputs"
    max_concurrent: int = 3
    timeout_connect: float = 10.0
    timeout_idle: float = 300.0
    retries: int = 2
    api_key: str | None = field(default=None, repr=False)
    model_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def client_kwargs(self) -> dict[str, Any]:
        """The ``Client(...)`` keyword arguments these settings stand for.

        >>> kw = OllamaConfig(base_url="http://h:1", retries=0).client_kwargs()
        >>> kw["host"], kw["retry"].retries, kw["timeouts"].idle
        ('http://h:1', 0, 300.0)
        """
        return {
            "host": self.base_url,
            "api_key": self.api_key,
            "timeouts": Timeouts(connect=self.timeout_connect, idle=self.timeout_idle),
            "retry": RetryPolicy(retries=self.retries),
        }

    def updated(self, **changes: Any) -> OllamaConfig:
        """A copy with some fields changed, each checked (type and range) first.

        >>> OllamaConfig().updated(retries=-5)
        Traceback (most recent call last):
        ...
        ollama_async.ConfigError: retries: must be between 0 and 100, not -5
        """
        known = [f.name for f in fields(self)]
        for name, value in changes.items():
            if name not in known:
                raise ConfigError(name, f"unknown setting{did_you_mean(name, known)}")
            if name in _FIELDS:
                _, _, kinds, low, high = _FIELDS[name]
                if not (name == "api_key" and value is None):
                    _check_value(name, value, kinds, low, high)
            else:
                _check_option_tables(name, value, allow_preset=name == "model_configs")
        return replace(self, **changes)


def default_config_path() -> Path:
    """Where the config lives on this platform (``OLLAMA_ASYNC_CONFIG`` overrides)."""
    if env := os.environ.get("OLLAMA_ASYNC_CONFIG"):
        return Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "ollama_async" / "config.toml"


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's TOML, checked; every fault is a :class:`ConfigError` naming the file or key.

    Deep nesting that exhausts the TOML parser's recursion is refused the same way.
    """
    where = str(path)
    try:
        raw = Path(path).read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except RecursionError:
        raise ConfigError(where, "nested too deeply to read (config tables are at most "
                                 "three levels deep)") from None  # fmt: skip
    except UnicodeDecodeError as exc:
        raise ConfigError(where, f"not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(where, f"not valid TOML: {exc}") from None
    check_config(data)
    return data


def check_config(data: Mapping[str, Any]) -> None:
    """Refuse unknown sections and keys, wrong types and out-of-range numbers.

    >>> check_config({"server": {"timeout_idle": float("nan")}})
    Traceback (most recent call last):
    ...
    ollama_async.ConfigError: server.timeout_idle: must be a finite number between 0.001 and 86400, not nan
    """  # noqa: E501
    by_key = {(s, k): (kinds, lo, hi) for s, k, kinds, lo, hi in _FIELDS.values()}
    sections = ["server", "defaults", "models", "presets"]
    for section, values in data.items():
        if section not in sections:
            raise ConfigError(section, f"unknown section{did_you_mean(section, sections)}")
        if not isinstance(values, dict):
            raise ConfigError(section, "must be a table")
        if section in ("models", "presets"):
            _check_option_tables(section, values, allow_preset=section == "models")
            continue
        keys = [k for s, k in by_key if s == section]
        for key, value in values.items():
            if key not in keys:
                raise ConfigError(f"{section}.{key}", f"unknown key{did_you_mean(key, keys)}")
            _check_value(f"{section}.{key}", value, *by_key[(section, key)])


def config_from_data(data: Mapping[str, Any], base: OllamaConfig | None = None) -> OllamaConfig:
    """Checked file data laid over ``base`` (default: the defaults)."""
    check_config(data)
    changes: dict[str, Any] = {}
    for name, (section, key, *_) in _FIELDS.items():
        if key in data.get(section, {}):
            changes[name] = data[section][key]
    config = replace(base or OllamaConfig(), **changes)
    config.model_configs = {**config.model_configs, **_copy(data.get("models", {}))}
    config.presets = {**config.presets, **_copy(data.get("presets", {}))}
    return config


def config_to_data(config: OllamaConfig, *, secrets: bool = True) -> dict[str, Any]:
    """The file's shape for ``config`` (without ``api_key`` when ``secrets`` is false)."""
    data: dict[str, Any] = {"server": {}, "defaults": {}}
    for name, (section, key, *_) in _FIELDS.items():
        value = getattr(config, name)
        if value is not None and (secrets or name != "api_key"):
            data[section][key] = value
    data["models"] = _copy(config.model_configs)
    data["presets"] = _copy(config.presets)
    return data


def dumps_config(data: Mapping[str, Any]) -> str:
    """TOML text for the data (tomli-w quotes any key that needs it, ``"schnéll"`` too).

    >>> print(dumps_config({"presets": {"schnéll": {"top_k": 3}}}), end="")
    [presets."schnéll"]
    top_k = 3
    """
    return tomli_w.dumps(dict(data))


def apply_env(config: OllamaConfig, environ: Mapping[str, str] | None = None) -> OllamaConfig:
    """``config`` with the environment's overrides applied (each checked like the file)."""
    env = os.environ if environ is None else environ
    changes: dict[str, Any] = {}
    for var, name in _ENV.items():
        raw = env.get(var)
        if not raw:
            continue
        value: Any = raw
        if name == "auto_start_server":
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ConfigError(var, f"must be 1/0, true/false or yes/no, not {raw!r}")
            value = raw.lower() in ("1", "true", "yes")
        elif name == "timeout_idle":
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(var, f"must be a number of seconds, not {raw!r}") from None
        _check_value(var, value, *_FIELDS[name][2:])
        changes[name] = value
    return replace(config, **changes)


def load_config(
    path: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> OllamaConfig:
    """The settings: defaults, then the file (if it exists), then the environment.

    Example::

        from ollama_async import Client
        from ollama_async._settings import load_config

        async with Client(**load_config().client_kwargs()) as client:
            ...
    """
    file = Path(path) if path is not None else default_config_path()
    config = config_from_data(read_config_file(file)) if file.is_file() else OllamaConfig()
    return apply_env(config, environ)


def _check_option_tables(where: str, tables: Any, *, allow_preset: bool) -> None:
    if not isinstance(tables, dict):
        raise ConfigError(where, "must be a table of tables")
    for name, settings in tables.items():
        if not isinstance(settings, dict):
            raise ConfigError(f"{where}.{name}", "must be a table")
        for key, value in settings.items():
            if allow_preset and key == "preset":
                _check_value(f"{where}.{name}.preset", value, (str,), 0, 0)
                continue
            if key not in OPTION_FIELDS:
                choices = [*OPTION_FIELDS, *(["preset"] if allow_preset else [])]
                raise ConfigError(
                    f"{where}.{name}.{key}", f"unknown key{did_you_mean(key, choices)}"
                )
            _check_value(f"{where}.{name}.{key}", value, *OPTION_FIELDS[key])


def _check_value(where: str, value: Any, kinds: tuple[type, ...], low: float, high: float) -> None:
    numeric = float in kinds
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        want = "a number" if numeric else " or ".join(k.__name__ for k in kinds)
        raise ConfigError(where, f"must be {want}, not {type(value).__name__}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if not math.isfinite(value) or not low <= value <= high:
        span = f"at least {low:g}" if high >= 1e9 else f"between {low:g} and {high:g}"
        kind = "a finite number " if numeric else ""
        raise ConfigError(where, f"must be {kind}{span}, not {value!r}")


def _copy(tables: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(k): dict(v) for k, v in tables.items()}
