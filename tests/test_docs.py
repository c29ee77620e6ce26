"""The docs promise only what exists: install lines name real extras, the API reference
covers every public module, and the pages are in the navigation."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = [
    "ollama_async",
    "ollama_async.types",
    "ollama_async.manage",
    "ollama_async.runner",
    "ollama_async.testing",
    "ollama_async.fastapi",
    "ollama_async.ray",
    "ollama_async.audit",
    "ollama_async.compat",
]


def extras() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["optional-dependencies"])


def test_readme_install_lines_name_existing_extras() -> None:
    named = re.findall(r"pip install [^\n]*?\.\[(\w+)\]", (ROOT / "README.md").read_text())
    assert named, "the README shows no install line with an extra"
    assert set(named) <= extras()


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_the_reference_renders_each_public_module(module: str) -> None:
    reference = (ROOT / "docs" / "reference.md").read_text()
    assert re.search(rf"^::: {re.escape(module)}$", reference, re.M)


def test_inherited_members_are_rendered() -> None:
    """Client's list, show, pull, embed… live on its model-store base class."""
    config = (ROOT / "mkdocs.yml").read_text()
    assert "inherited_members: true" in config


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    listed = set(re.findall(r":\s*([\w-]+\.md)\s*$", config, re.M))
    assert pages == listed
