"""``--conformance-results PATH``: a machine-readable record of a run, one JSON file per environment.

This module is the format (shared by the writer, :mod:`conformance.harness.results_writer`, and the
report); it imports no pytest.

The file is always whole: every write goes to a temporary file that replaces the old one. It is written
when the run starts (``"status": "running"``), every few seconds while items finish, and at the end
(``"complete"``), so a run that crashes half-way leaves a file that says it did not finish, with the items
it got through — never a truncated one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from conformance.item import ItemId

FORMAT = 1


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON so that readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def identify(nodeid: str) -> dict[str, Any]:
    """The identity record of an item known only by its node id (its worker crashed before it made one)."""
    return ItemId.parse(nodeid).record()
