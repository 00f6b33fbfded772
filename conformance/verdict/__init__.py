"""Verdicts: which declared divergences apply, judging one item (in isolation), API contracts, and the
failure message's header."""
