"""Run of one path: the one module that imports TensorFlow (:mod:`~conformance.run.tfenv`), the item's
numbers, one module per path, the call log, modes, probes as typed values, and :func:`execute`."""
