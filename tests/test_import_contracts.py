"""The import contracts cover every module they are meant to: a new adapter cannot slip by."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Entry points build through the composition root; everything else in adapters/ must not.
ENTRY_POINTS = {"adapters.cli", "adapters.bootstrap"}


def test_every_adapter_but_the_entry_points_is_kept_from_the_composition_root() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(
        c
        for c in config["tool"]["importlinter"]["contracts"]
        if c["name"] == "Only entry points import the composition root"
    )
    adapters = {
        f"adapters.{path.stem if path.is_file() else path.name}"
        for path in (ROOT / "adapters").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }

    assert adapters - ENTRY_POINTS - set(contract["source_modules"]) == set()
