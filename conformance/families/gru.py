"""GRU: one state h; gates z, r, h; both bias layouts (reset_after); Keras 2's fused CPU kernel is
standard_gru."""

from conformance.families.base import GATED, Family

FAMILY = Family(
    "gru",
    "GRUCell",
    "GRU",
    ("h",),
    "conformance.oracle.gru",
    cell_options=(*GATED, "reset_after"),
    keras2_kernel="standard_gru",
)
