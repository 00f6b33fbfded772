"""Case file → validated case: the field language, the format written in it, and loading.

``load(path)`` is what collection calls; everything wrong with a file is one :class:`CaseFileError`.
"""

from conformance.casefile.load import load

__all__ = ["load"]
