"""constrain: local LLaMA-family inference whose output is guaranteed to follow a grammar."""

from constrain import numba_cache as _numba_cache
from constrain.errors import ConstrainError

_numba_cache.install_on_import()  # before any kernel compiles or loads from numba's cache

__all__ = ["ConstrainError", "Llama", "extract", "extract_many"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # Llama pulls in numba and the kernels; import it on first use so that light uses of
    # the package (errors, grammars) stay fast to import
    if name == "Llama":
        from constrain.api import Llama

        return Llama
    if name in ("extract", "extract_many"):
        from constrain import extraction

        return getattr(extraction, name)
    raise AttributeError(f"module 'constrain' has no attribute {name!r}")
