"""Results: the results file's format, and the cross-version report (analysis, one module per format)."""
