"""SimpleRNN: one state h, no gates, no fused kernel of its own."""

from conformance.families.base import Family

FAMILY = Family(
    "simple_rnn",
    "SimpleRNNCell",
    "SimpleRNN",
    ("h",),
    "conformance.oracle.simple_rnn",
    cell_options=("activation", "use_bias", "dropout", "recurrent_dropout", "recurrent_initializer"),
)
