"""The calls a path made, as a user would write them: what a failure report lists under "calls made"."""

from __future__ import annotations


class CallLog:
    """Each distinct call once, in order; ``last`` is the call being made (for "... raised")."""

    def __init__(self) -> None:
        self.steps: list[str] = []
        self.last = "(before any call)"

    def __call__(self, step: str) -> None:
        self.last = step  # the call being made, even when an earlier identical one is already listed
        if step not in self.steps:  # the checks repeat calls; a report lists each distinct call once
            self.steps.append(step)
