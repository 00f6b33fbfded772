"""How one item ends, as the harness reports it and a results file records it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ItemOutcome:
    status: str  # passed | failed | xfailed | skipped
    header: str = ""
    reason: str = ""
    problems: tuple[str, ...] = ()
    skip: str = ""
    record: dict[str, Any] = field(default_factory=dict)  # machine-readable facts for results files
    environment: dict[str, Any] = field(default_factory=dict)  # the fingerprint, for results files
