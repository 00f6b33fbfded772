"""LSTM: states h and c; gates i, f, c, o; Keras 2's fused CPU kernel is standard_lstm."""

from conformance.families.base import GATED, Family

FAMILY = Family(
    "lstm",
    "LSTMCell",
    "LSTM",
    ("h", "c"),
    "conformance.oracle.lstm",
    cell_options=(*GATED, "unit_forget_bias"),
    keras2_kernel="standard_lstm",
)
