"""``ConfigManager``: the seed spec's configuration API over :mod:`ollama_async._settings`.

The file layer (what :meth:`ConfigManager.save_config` writes) and the environment layer
(``OLLAMA_HOST`` and the others, never written back) are kept apart: ``config`` is the file
layer with the environment on top.
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from .._errors import ConfigError
from .._names import normalize_model_name
from .._settings import (
    OllamaConfig,
    apply_env,
    check_config,
    config_from_data,
    config_to_data,
    default_config_path,
    dumps_config,
    read_config_file,
)
from ._outputs import atomic_write
from ._presets import PRESETS, ExecutionOptions, preset

__all__ = ["ConfigManager", "options_for"]


class ConfigManager:
    """Load, change, validate, save, export and import the configuration.

    The constructor reads nothing: call :meth:`load_config`. Without ``config_file`` the
    path is ``OLLAMA_ASYNC_CONFIG``, else the platform's config folder.

    Example::

        config_mgr = ConfigManager()
        config_mgr.load_config()
        config_mgr.update_config(default_model="qwen3", auto_start_server=False)
        creative = config_mgr.get_execution_presets()["creative"]
        config_mgr.save_config()
    """

    def __init__(self, config_file: str | None = None) -> None:
        self.config_file = Path(config_file) if config_file is not None else None
        self._stored = OllamaConfig()
        self.config: OllamaConfig = apply_env(self._stored)
        """The settings in effect: the file's, with the environment's overrides on top."""

    @property
    def path(self) -> Path:
        """The config file's path."""
        return self.config_file if self.config_file is not None else default_config_path()

    def _set(self, stored: OllamaConfig) -> None:
        self._stored = stored
        self.config = apply_env(stored)

    def load_config(self) -> bool:
        """Read the file over the defaults, then the environment. True when a file was read,
        False when there is none (the defaults and environment apply). A bad file raises
        :class:`~ollama_async.ConfigError` naming the key and what is allowed."""
        if not self.path.is_file():
            self._set(OllamaConfig())
            return False
        self._set(config_from_data(read_config_file(self.path)))
        return True

    def save_config(self) -> bool:
        """Write the file atomically (mode 0600 when it holds an API key); True when written.
        Values that came from the environment are not written."""
        data = config_to_data(self._stored)
        secret = bool(self._stored.api_key)
        atomic_write(self.path, dumps_config(data), mode=0o600 if secret else 0o644)
        if secret:
            os.chmod(self.path, 0o600)
        return True

    def create_default_config(self) -> OllamaConfig:
        """A fresh default configuration (the current one is not changed)."""
        return OllamaConfig()

    def update_config(self, **kwargs: Any) -> bool:
        """Change settings by field name (``default_model=``, ``auto_start_server=`` …), each
        checked first; True when changed. An unknown name or a bad value raises
        :class:`~ollama_async.ConfigError` and changes nothing."""
        self._set(self._stored.updated(**kwargs))
        return True

    def get_model_config(self, model_name: str) -> dict[str, Any] | None:
        """The settings stored for one model (ExecutionOptions fields, maybe ``preset``)."""
        found = self.config.model_configs.get(model_name)
        return dict(found) if found is not None else None

    def save_model_config(self, model_name: str, config: dict[str, Any]) -> bool:
        """Store one model's settings (checked) and write the file; True when saved."""
        check_config({"models": {model_name: config}})
        models = {**self._stored.model_configs, model_name: dict(config)}
        self._set(replace(self._stored, model_configs=models))
        return self.save_config()

    def get_execution_presets(self) -> dict[str, ExecutionOptions]:
        """The presets by name: ``fast``, ``creative``, ``balanced``, ``precise``,
        ``long_form`` and any ``[presets.*]`` of the config (fresh copies)."""
        out = {name: preset(name) for name in PRESETS}
        for name, values in self.config.presets.items():
            out[name] = ExecutionOptions.from_dict(values)
        return out

    def export_config(self, export_path: str) -> bool:
        """Write the settings in effect to another TOML file, without the API key."""
        atomic_write(Path(export_path), dumps_config(config_to_data(self.config, secrets=False)))
        return True

    def import_config(self, import_path: str) -> bool:
        """Read a TOML file over the current settings; True when imported. A bad file raises
        :class:`~ollama_async.ConfigError` and changes nothing."""
        self._set(config_from_data(read_config_file(import_path), self._stored))
        return True

    def reset_to_defaults(self) -> bool:
        """Back to the defaults (call :meth:`save_config` to write them); True."""
        self._set(OllamaConfig())
        return True

    def validate_config(self) -> dict[str, Any]:
        """``{"valid": bool, "warnings": [...], "errors": [...]}`` for the settings in effect."""
        errors: list[str] = []
        warnings: list[str] = []
        try:
            check_config(config_to_data(self.config))
        except ConfigError as exc:
            errors.append(str(exc))
        cfg = self.config
        if not cfg.base_url.startswith(("http://", "https://")):
            warnings.append("base_url has no scheme; http:// is assumed")
        if cfg.base_url.startswith("http://") and cfg.api_key:
            warnings.append("api_key would be sent over plain http")
        if cfg.default_preset not in PRESETS and cfg.default_preset not in cfg.presets:
            errors.append(f"default_preset: unknown preset {cfg.default_preset!r}")
        for model, values in cfg.model_configs.items():
            name = values.get("preset")
            if name is not None and name not in PRESETS and name not in cfg.presets:
                errors.append(f"models.{model}.preset: unknown preset {name!r}")
        return {"valid": not errors, "warnings": warnings, "errors": errors}

    def to_dict(self) -> dict[str, Any]:
        """The settings in effect as a dict (the API key left out)."""
        data = asdict(self.config)
        data.pop("api_key", None)
        return data


def options_for(config: OllamaConfig, model_name: str) -> ExecutionOptions:
    """The model's options: its preset (else the default preset) with its own fields over it.

    >>> cfg = OllamaConfig(model_configs={"m": {"preset": "creative", "max_tokens": 9}})
    >>> o = options_for(cfg, "m")
    >>> o.temperature, o.max_tokens
    (0.9, 9)
    """
    wanted = normalize_model_name(model_name)
    found = config.model_configs.get(model_name)
    if found is None:
        found = next((v for k, v in config.model_configs.items()
                      if normalize_model_name(k) == wanted), {})  # fmt: skip
    entry = dict(found)
    name = entry.pop("preset", config.default_preset)
    if name in config.presets:
        base = ExecutionOptions.from_dict(config.presets[name])
    elif name in PRESETS:
        base = preset(name)
    else:
        base = ExecutionOptions()
    known = {f.name for f in fields(ExecutionOptions)}
    return replace(base, **{k: v for k, v in entry.items() if k in known})
