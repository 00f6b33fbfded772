"""The identity of one item: one frozen value that makes the node name, parses it back and gives the record.

An item is one (case variant, path, mode, dtype, device) of a case, or one API contract. Everything that
names an item — the node id pytest shows, the results file's record, the report's row, a baseline entry's
file name — comes from :class:`ItemId`, so no module builds or parses those names by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance import registry

CONTRACT = "contract"  # the path of an API-contract item (it has no path, mode, dtype or device)


@dataclass(frozen=True, order=True)
class ItemId:
    """``case[variant-path-context-mode-dtype-device]``; a contract is ``id[contract]``."""

    case: str
    variant: str = ""
    path: str = CONTRACT
    mode: str = "eager"
    dtype: str = "-"
    device: str = "cpu"
    context: str = "call"

    @classmethod
    def contract(cls, contract_id: str) -> ItemId:
        return cls(contract_id)

    @property
    def is_contract(self) -> bool:
        return self.path == CONTRACT

    @property
    def params(self) -> str:
        """What goes in brackets: the variant (when there is one), path, context, mode, dtype, device."""
        if self.is_contract:
            return CONTRACT
        parts = (self.variant, self.path, self.context, self.mode, self.dtype, self.device)
        return "-".join(p for p in parts if p)

    @property
    def name(self) -> str:
        """The pytest node name (the part after ``file::``)."""
        return f"{self.case}[{self.params}]"

    @property
    def label(self) -> str:
        """How a report line names the item (``reportinfo``)."""
        return f"{self.case} [{self.params}]"

    @property
    def key(self) -> str:
        """The report's row key: readable and stable across environments."""
        variant = f"[{self.variant}]" if self.variant else ""
        parts = (self.path, self.context, self.dtype, self.device, self.mode)
        return f"{self.case}{variant} · " + " · ".join(parts)

    def record(self) -> dict[str, Any]:
        """The identity fields of a results-file record."""
        return {
            "case": self.case,
            "variant": self.variant,
            "path": self.path,
            "mode": self.mode,
            "dtype": self.dtype,
            "device": self.device,
            "context": self.context,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ItemId:
        return cls(
            str(record["case"]),
            str(record.get("variant") or ""),
            str(record.get("path", CONTRACT)),
            str(record.get("mode") or "eager"),
            str(record.get("dtype", "-")),
            str(record.get("device", "cpu")),
            str(record.get("context") or "call"),
        )

    @classmethod
    def parse(cls, nodeid: str) -> ItemId:
        """An item's identity from its node id (``file::case[...]`` or the bare name).

        Read from the right, where the parts come from known sets (the variant, on the left, may itself
        hold ``-``); a name that does not follow the rule keeps ``?`` in the parts it lacks.
        """
        name = nodeid.rsplit("::", 1)[-1]
        case, _, params = name.partition("[")
        params = params.removesuffix("]")
        if params == CONTRACT:
            return cls.contract(case)
        parts = params.split("-")
        known = (
            registry.DEVICES,
            registry.DTYPES,
            registry.MODE_NAMES,
            registry.CONTEXT_NAMES,
            registry.PATH_NAMES,
        )
        found: list[str] = []
        for names in known:
            if parts and parts[-1] in names:
                found.append(parts.pop())
            else:
                found.append("?")
        device, dtype, mode, context, path = found
        return cls(case, "-".join(parts), path, mode, dtype, device, context)
