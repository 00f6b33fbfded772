"""One cell: the structure every case has unless it says ``stack`` or ``bidirectional``."""

from conformance.families.structures.base import Structure


class Single(Structure):
    """One cell, driven by the path directly (all behaviour is the base class's)."""


SINGLE = Single()
