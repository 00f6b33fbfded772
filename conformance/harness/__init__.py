"""The pytest harness: collection, options, markers, the results writer and the end-of-run summary. The
only package that imports pytest (with :mod:`conformance.plugin`, which holds the hooks)."""
