"""``ConfigManager``: a TOML config file at the platform's config path, with env overrides.

Environment overrides (applied on load, never written back): ``OLLAMA_HOST`` → server.host,
``OLLAMA_API_KEY`` → server.api_key, ``OLLAMA_ASYNC_MODEL`` → defaults.model. The file's
path: the argument, else ``OLLAMA_ASYNC_CONFIG``, else the platform's config folder.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from .._hints import did_you_mean
from ._outputs import atomic_write
from ._presets import PRESETS, ExecutionOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ConfigManager", "default_config_path"]


_SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "server": {
        "host": (str,),
        "api_key": (str,),
        "timeout_connect": (int, float),
        "timeout_idle": (int, float),
        "retries": (int,),
    },
    "defaults": {
        "model": (str,),
        "preset": (str,),
        "max_concurrent": (int,),
        "output_dir": (str,),
    },
}
_OPTION_FIELDS = {
    "temperature": (int, float), "top_p": (int, float), "top_k": (int,),
    "repeat_penalty": (int, float), "max_tokens": (int,), "timeout": (int, float),
    "stream": (bool,), "format": (str,), "system_prompt": (str,), "context_window": (int,),
}  # fmt: skip
_DEFAULTS: dict[str, Any] = {
    "server": {"host": "http://127.0.0.1:11434", "timeout_connect": 10.0, "timeout_idle": 300.0,
               "retries": 2},
    "defaults": {"model": "llama3.2", "preset": "balanced", "max_concurrent": 4,
                 "output_dir": "ollama_outputs"},
    "models": {},
    "presets": {},
}  # fmt: skip
_ENV = {"OLLAMA_HOST": ("server", "host"), "OLLAMA_API_KEY": ("server", "api_key"),
        "OLLAMA_ASYNC_MODEL": ("defaults", "model")}  # fmt: skip


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


class ConfigManager:
    """Load, change, validate and save the config.

    Example::

        config = ConfigManager()
        config.update("defaults.model", "qwen3")
        config.set_model_config("qwen3", {"temperature": 0.2})
        config.save()
        print(config.validate_config())
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_config_path()
        self.config: dict[str, Any] = self.get_default_config()
        self.load()

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """A fresh copy of the defaults."""
        return copy.deepcopy(_DEFAULTS)

    def load(self) -> dict[str, Any]:
        """Read the file (if any) over the defaults, then apply environment overrides."""
        config = self.get_default_config()
        if self.path.exists():
            with open(self.path, "rb") as f:
                data = tomllib.load(f)
            _check(data)
            _merge(config, data)
        self.file_config = copy.deepcopy(config)
        for var, (section, key) in _ENV.items():
            if value := os.environ.get(var):
                config[section][key] = value
        self.config = config
        return config

    def save(self) -> Path:
        """Write the config atomically (mode 0600 when it holds an API key); env overrides
        are not written."""
        data = copy.deepcopy(self.config)
        for var, (section, key) in _ENV.items():
            if os.environ.get(var) and data[section].get(key) == os.environ[var]:
                original = self.file_config.get(section, {}).get(key)
                if original is None:
                    data[section].pop(key, None)
                else:
                    data[section][key] = original
        secret = bool(data["server"].get("api_key"))
        atomic_write(self.path, dumps_toml(data), mode=0o600 if secret else 0o644)
        if secret:
            os.chmod(self.path, 0o600)
        return self.path

    def update(self, key: str, value: Any) -> None:
        """Set ``section.key`` (checked against the schema)."""
        section, _, name = key.partition(".")
        candidate = {section: {name: value}}
        _check(candidate)
        self.config.setdefault(section, {})[name] = value

    def get_model_config(self, model: str) -> ExecutionOptions:
        """The model's settings: its preset (or the default one) with its own overrides."""
        entry = dict(self.config["models"].get(model, {}))
        preset = entry.pop("preset", self.config["defaults"].get("preset", "balanced"))
        return self.get_preset(preset).with_(**entry)

    def set_model_config(self, model: str, settings: dict[str, Any]) -> None:
        """Store per-model settings (ExecutionOptions fields, plus ``preset``)."""
        _check({"models": {model: settings}})
        self.config["models"][model] = dict(settings)

    def get_preset(self, name: str) -> ExecutionOptions:
        """A preset from the config's ``[presets]`` or the built-in ones."""
        if name in self.config["presets"]:
            return ExecutionOptions(**self.config["presets"][name])
        return ExecutionOptions.preset(name)

    def set_preset(self, name: str, settings: dict[str, Any]) -> None:
        """Define (or replace) a named preset."""
        _check({"presets": {name: settings}})
        self.config["presets"][name] = dict(settings)

    def export_config(self, path: str | os.PathLike[str]) -> Path:
        """Write the current config to another TOML file (without the API key)."""
        data = copy.deepcopy(self.config)
        data["server"].pop("api_key", None)
        target = Path(path)
        atomic_write(target, dumps_toml(data))
        return target

    def import_config(self, path: str | os.PathLike[str]) -> None:
        """Read a TOML file into the config; unknown keys and wrong types are refused with a
        :class:`ConfigError` naming them, and nothing changes then."""
        with open(path, "rb") as f:
            data = tomllib.load(f)
        _check(data)
        merged = copy.deepcopy(self.config)
        _merge(merged, data)
        self.config = merged

    def reset(self) -> None:
        """Back to the defaults (call :meth:`save` to write them)."""
        self.config = self.get_default_config()

    def validate_config(self) -> dict[str, Any]:
        """``{"valid": bool, "warnings": [...], "errors": [...]}`` for the current config."""
        errors: list[str] = []
        warnings: list[str] = []
        try:
            _check(self.config)
        except ConfigError as exc:
            errors.append(str(exc))
        server = self.config.get("server", {})
        if not str(server.get("host", "")).startswith(("http://", "https://")):
            warnings.append("server.host has no scheme; http:// is assumed")
        if str(server.get("host", "")).startswith("http://") and server.get("api_key"):
            warnings.append("server.api_key would be sent over plain http")
        preset = self.config.get("defaults", {}).get("preset")
        if preset not in PRESETS and preset not in self.config.get("presets", {}):
            errors.append(f"defaults.preset: unknown preset {preset!r}")
        if self.config.get("defaults", {}).get("max_concurrent", 1) < 1:
            errors.append("defaults.max_concurrent: must be at least 1")
        return {"valid": not errors, "warnings": warnings, "errors": errors}


def _merge(base: dict[str, Any], data: dict[str, Any]) -> None:
    for section, values in data.items():
        if isinstance(values, dict) and isinstance(base.get(section), dict):
            base[section].update(values)
        else:
            base[section] = values


def _check(data: dict[str, Any]) -> None:
    known_sections = [*_SCHEMA, "models", "presets"]
    for section, values in data.items():
        if section not in known_sections:
            raise ConfigError(section, f"unknown section{did_you_mean(section, known_sections)}")
        if not isinstance(values, dict):
            raise ConfigError(section, "must be a table")
        if section in ("models", "presets"):
            for name, settings in values.items():
                if not isinstance(settings, dict):
                    raise ConfigError(f"{section}.{name}", "must be a table")
                allowed = dict(_OPTION_FIELDS)
                if section == "models":
                    allowed["preset"] = (str,)
                _check_table(f"{section}.{name}", settings, allowed)
            continue
        _check_table(section, values, _SCHEMA[section])


def _check_table(
    prefix: str, values: dict[str, Any], allowed: Mapping[str, tuple[type, ...]]
) -> None:
    for key, value in values.items():
        where = f"{prefix}.{key}"
        if key not in allowed:
            raise ConfigError(where, f"unknown key{did_you_mean(key, allowed)}")
        kinds = allowed[key]
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            want = " or ".join(k.__name__ for k in kinds)
            raise ConfigError(where, f"must be {want}, not {type(value).__name__}")


def dumps_toml(data: dict[str, Any]) -> str:
    """TOML for the config's shape: tables, nested tables, strings, numbers, bools, arrays.

    >>> print(dumps_toml({"server": {"host": "h\\"1"}, "models": {"a:b": {"top_k": 3}}}))
    [server]
    host = "h\\"1"
    <BLANKLINE>
    [models."a:b"]
    top_k = 3
    <BLANKLINE>
    """
    out: list[str] = []

    def table(path: list[str], values: dict[str, Any]) -> None:
        scalars = {k: v for k, v in values.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in values.items() if isinstance(v, dict)}
        if scalars or not tables:
            out.append("[" + ".".join(_key(p) for p in path) + "]")
            out.extend(f"{_key(k)} = {_value(v)}" for k, v in scalars.items())
            out.append("")
        for k, v in tables.items():
            table([*path, k], v)

    for section, values in data.items():
        table([section], values)
    return "\n".join(out)


def _key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "_-" for c in k) else _string(k)


def _string(s: str) -> str:
    escaped = s.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if ord(c) >= 0x20 and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")
