"""The three ways people drive a recurrent cell, one module each, registered in
:data:`conformance.registry.PATHS`: ``manual_loop``, ``rnn_wrapper``, ``fused_layer``."""
