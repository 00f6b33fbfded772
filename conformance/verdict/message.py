"""The first lines of a failure: which case, which path, which environment, which calls."""

from __future__ import annotations

from conformance.casefile.case import Case
from conformance.families import FAMILIES
from conformance.item import ItemId
from conformance.run.tfenv import TFEnv


def layer_line(case: Case) -> str:
    """The layer as configured: family and cell options, sizes, return flags, the other layer options."""
    opts = case.options
    if case.custom is not None:  # a user's cell: its own constructor arguments, not the built-in options
        cell = f"custom {case.custom.cell}({', '.join(f'{k}={v!r}' for k, v in case.custom.args.items())})"
    else:
        own = opts.cell_kwargs(FAMILIES[case.layer].cell_options)
        cell = ", ".join([case.layer, *(f"{k}={v}" for k, v in own.items())])
    others = {k: v for k, v in opts.layer_kwargs().items() if k not in ("return_sequences", "return_state")}
    extra = "".join(f", {k}={v}" for k, v in others.items())
    masked = f"; mask: {case.mask}" if case.mask is not None else ""
    return (
        f"layer: {cell}; {case.sizes}; return_sequences={opts.return_sequences}, "
        f"return_state={opts.return_state}{extra}; initial_state: {case.initial_state.kind}{masked}"
    )


def header(case: Case, item: ItemId, env: TFEnv, kernel: str | None, steps: list[str]) -> str:
    where = f"{case.source}:{case.line}" if case.line else str(case.source)
    variant = f" variant {case.variant}" if case.variant else ""
    lines = [
        f"case {case.id!r}{variant} · path {item.path}"
        + (f" · context {item.context}" if item.context != "call" else "")
        + f" · mode {item.mode} · dtype {item.dtype} · device {item.device}   ({where})",
        f"  environment: {env.describe()}" + (f"; kernel: {kernel}" if kernel else ""),
        f"  {layer_line(case)}",
        "  calls made:",
        *(f"    {s}" for s in steps),
    ]
    return "\n".join(lines)
