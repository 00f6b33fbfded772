"""One registry per extension point, and everything that enumerates the things reads it.

A path, check, mode, report format, family or structure is added with one module and one registry line;
these tests fail when the schema's enums, the markers, the docs or the implementations disagree with the
registries, or when a module of an extension folder is not registered.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from conformance import registry
from conformance.casefile import schema
from conformance.families import FAMILIES, LAYERS, structures
from conformance.harness.markers import MARKERS
from conformance.item import ItemId

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"
DOCS = (PACKAGE.parent / "docs" / "case-format.md").read_text(encoding="utf-8")
# Modules of the extension folders that are support, not an extension themselves.
SUPPORT = {
    "run/paths": {"__init__", "base", "layer"},
    "checks": {"__init__", "base", "compare", "tolerance", "reference", "alternatives", "loaded"},
    "run/saving": {"__init__", "base", "roundtrip"},
    "families": {"__init__", "base", "custom"},
    "families/structures": {"__init__", "base"},
    "results": {"__init__", "file", "report"},
}


def _modules(folder: str) -> set[str]:
    return {p.stem for p in (PACKAGE / folder).glob("*.py")} - SUPPORT[folder]


def test_schema_enums_are_the_registries() -> None:
    assert schema.PATHS == registry.PATH_NAMES
    assert schema.CHECKS == registry.CHECK_NAMES
    assert schema.MODES == registry.MODE_NAMES
    assert schema.DTYPES == registry.DTYPES
    assert schema.DEVICES == registry.DEVICES
    case = schema.CASE.fields or {}
    assert case["layer"].enum == LAYERS
    assert (case["bidirectional"].fields or {})["merge_mode"].enum == structures.MERGE_MODES
    assert {k for k in case if k in structures.KEYS} == set(structures.KEYS)


def test_every_name_is_a_marker() -> None:
    names = [*registry.PATH_NAMES, *registry.MODE_NAMES, *registry.DTYPES, *registry.DEVICES, *LAYERS]
    assert [n for n in names if n not in MARKERS] == []


@pytest.mark.parametrize(
    "name",
    [*registry.PATH_NAMES, *registry.CHECK_NAMES, *registry.MODE_NAMES, *LAYERS, *registry.SAVE_FORMAT_NAMES],
)
def test_docs_name_every_registered_thing(name: str) -> None:
    assert f"`{name}`" in DOCS, f"docs/case-format.md does not mention `{name}`"


def test_every_path_loads_and_is_the_named_runner() -> None:
    for entry in registry.PATHS:
        runner = registry.runner(entry.name)
        assert inspect.isclass(runner) and runner.name == entry.name, entry


def test_every_check_and_report_format_loads() -> None:
    for entry in (*registry.CHECKS, *registry.OPTION_CHECKS, *registry.REPORT_FORMATS):
        assert callable(entry.load()), entry


def test_every_save_format_loads_and_is_the_named_format() -> None:
    for entry in registry.SAVE_FORMATS:
        fmt = registry.save_format(entry.name)
        assert fmt.name == entry.name and callable(fmt.write) and callable(fmt.load), entry


def test_every_module_of_an_extension_folder_is_registered() -> None:
    """A module written but not registered would be dead code that looks like a feature."""
    assert _modules("run/paths") == {e.impl.split(":")[0].rsplit(".", 1)[-1] for e in registry.PATHS}
    checks = (*registry.CHECKS, *registry.OPTION_CHECKS)
    assert _modules("checks") == {e.impl.split(":")[0].rsplit(".", 1)[-1] for e in checks}
    assert _modules("run/saving") == {e.impl.split(":")[0].rsplit(".", 1)[-1] for e in registry.SAVE_FORMATS}
    assert _modules("results") == {e.impl.split(":")[0].rsplit(".", 1)[-1] for e in registry.REPORT_FORMATS}
    assert _modules("families") == set(FAMILIES)
    assert _modules("families/structures") == {s.__module__.rsplit(".", 1)[-1] for s in structures.STRUCTURES}


@pytest.mark.parametrize("variant", ["", "layer=gru-stack=2", "batch=1-return_sequences=true"])
def test_item_ids_round_trip(variant: str) -> None:
    for path in registry.PATH_NAMES:
        for mode in registry.MODE_NAMES:
            for dtype in registry.DTYPES:
                for device in registry.DEVICES:
                    item = ItemId("a-case", variant, path, mode, dtype, device)
                    assert ItemId.parse(f"cases/x.toml::{item.name}") == item
                    assert ItemId.from_record(item.record()) == item
    contract = ItemId.contract("lstm-x")
    assert contract.name == "lstm-x[contract]" and ItemId.parse(contract.name) == contract
