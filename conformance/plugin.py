"""pytest hooks of the conformance kit: options, markers, header, collection. The work lives elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import isolation, schema, tfenv
from conformance.collect import SETTINGS, CaseFile, is_case_file
from conformance.results import ResultsWriter
from conformance.settings import Settings, add_options
from conformance.summary import RunSummary

MARKERS = {
    "conformance": "an item generated from a conformance case file",
    "known_divergence": "the item's case declares known divergences (strict xfail when they apply)",
    "contract": "an API contract: one public call and the outcome it must have",
    "manual_loop": "path: a Python loop calling the cell step by step",
    "rnn_wrapper": "path: keras.layers.RNN(cell)",
    "fused_layer": "path: the fused layer (keras.layers.LSTM, ...)",
    **{d: f"dtype: {d}" for d in schema.DTYPES},
    **{d: f"device: {d}" for d in schema.DEVICES},
    **{m: f"execution mode: {m}" for m in schema.MODES},
    **{name: f"layer family: {name}" for name in schema.LAYERS},
}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")
    settings = Settings.from_config(config)
    isolation.configure(config)
    config.stash[SETTINGS] = settings
    config.args.extend(str(p) for p in settings.extra_paths if str(p) not in config.args)
    config.pluginmanager.register(RunSummary(), "conformance-summary")
    if settings.results is not None and not hasattr(config, "workerinput"):  # the xdist controller writes
        config.pluginmanager.register(ResultsWriter(settings.results), "conformance-results")


def pytest_report_header(config: pytest.Config) -> list[str]:
    return tfenv.header_lines() + isolation.header_lines(config.stash[SETTINGS])


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CaseFile | None:
    if is_case_file(file_path, parent.config.stash[SETTINGS]):
        return CaseFile.from_parent(parent, path=file_path)
    return None
