"""pytest hooks of the conformance kit: options, markers, header, collection. The work lives elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.harness.collect import SETTINGS, CaseFile, continue_past_case_file_errors, is_case_file
from conformance.harness.markers import MARKERS
from conformance.harness.options import Settings, add_options
from conformance.harness.results_writer import ResultsWriter
from conformance.harness.summary import RunSummary
from conformance.run import tfenv
from conformance.verdict import isolation


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


# TensorFlow's and Keras's own noise, not caused by the kit or a case: Keras 2 draws seeds with
# random.randint(1, 1e9) (a float bound, deprecated since Python 3.10; the warning is attributed to the
# stdlib's random.py, so it is matched by its message), TF imports sre_constants. Filtered as ini lines, so
# a -W on the command line still wins.
NOISE = (
    "ignore:non-integer arguments to randrange:DeprecationWarning",
    "ignore:module 'sre_constants' is deprecated:DeprecationWarning",
    "ignore::DeprecationWarning:(tensorflow|tf_keras|keras|ml_dtypes|google\\.protobuf|flatbuffers)(\\..*)?",
)


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")
    for line in NOISE:
        config.addinivalue_line("filterwarnings", line)
    settings = Settings.from_config(config)
    isolation.keep_stderr()
    config.stash[SETTINGS] = settings
    config.args.extend(str(p) for p in settings.extra_paths if str(p) not in config.args)
    config.pluginmanager.register(RunSummary(), "conformance-summary")
    if settings.results is not None and not hasattr(config, "workerinput"):  # the xdist controller writes
        config.pluginmanager.register(ResultsWriter(settings.results), "conformance-results")


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS]
    return tfenv.header_lines() + isolation.header_lines(settings.timeout, settings.deterministic)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """pytest hides report headers under ``-q`` (tox runs quiet); what is under test is shown anyway."""
    config = session.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and config.get_verbosity() < 0 and not config.option.no_header:
        for line in pytest_report_header(config):
            reporter.write_line(line)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    continue_past_case_file_errors(session)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CaseFile | None:
    if is_case_file(file_path, parent.config.stash[SETTINGS]):
        return CaseFile.from_parent(parent, path=file_path)
    return None
