"""Damaged numba cache files are rebuilt, not fatal.

numba keeps compiled kernels as pickles (`*.nbi` index, `*.nbc` data) in `__pycache__` or
`NUMBA_CACHE_DIR`. A truncated or garbled file makes numba raise UnpicklingError, EOFError or
TypeError while loading, on every later run. For constrain's own kernels the load is guarded:
the damaged files are removed with a `NumbaCacheWarning` and the kernel compiles afresh (and is
cached again); if the cache cannot be written, the kernel runs uncached, with the same warning.
"""

from __future__ import annotations

import functools
import glob
import importlib.abc
import importlib.machinery
import os
import sys
import warnings

_PACKAGE = "constrain."
_installed = False


class NumbaCacheWarning(RuntimeWarning):
    """A numba cache file of a constrain kernel was damaged (and removed) or could not be written."""


def install_on_import() -> None:
    """Install the guard as soon as numba's cache module is imported, without importing numba
    here (light uses of constrain, such as its errors, stay fast to import)."""
    if "numba.core.caching" in sys.modules:
        install()
    elif not any(isinstance(f, _InstallAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _InstallAfterImport())


class _InstallAfterImport(importlib.abc.MetaPathFinder):
    """Finds numba.core.caching with the other finders, then installs the guard once it ran."""

    def find_spec(self, name, path, target=None):
        if name != "numba.core.caching":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            sys.modules[name] = module  # install() imports it by name
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            install()

        spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    """Guard numba's cache loads and saves for constrain's kernels (once per process)."""
    global _installed
    if _installed:
        return
    from numba.core import caching

    cache_class = caching.Cache
    cache_class.load_overload = _guarded_load(cache_class.load_overload)
    cache_class.save_overload = _guarded_save(cache_class.save_overload)
    _installed = True


def _ours(cache) -> bool:
    return getattr(getattr(cache, "_py_func", None), "__module__", "").startswith(_PACKAGE)


def _guarded_load(load):
    @functools.wraps(load)
    def load_overload(self, sig, target_context):
        if not _ours(self):
            return load(self, sig, target_context)
        try:
            return load(self, sig, target_context)
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - whatever a damaged pickle raises
            removed = _remove_files(self)
            warnings.warn(
                f"numba cache of {self._py_func.__qualname__} in {self._cache_path} is damaged "
                f"({type(exc).__name__}: {str(exc)[:120]}); removed {removed} file(s), compiling afresh",
                NumbaCacheWarning, stacklevel=2)
            return None  # numba compiles, then saves a fresh entry

    return load_overload


def _guarded_save(save):
    @functools.wraps(save)
    def save_overload(self, sig, data):
        if not _ours(self):
            return save(self, sig, data)
        try:
            return save(self, sig, data)
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - an unwritable or damaged cache folder
            _remove_files(self)
            self.disable()
            warnings.warn(
                f"numba cache of {self._py_func.__qualname__} cannot be written in {self._cache_path} "
                f"({type(exc).__name__}: {str(exc)[:120]}); the kernel runs uncached in this process",
                NumbaCacheWarning, stacklevel=2)

    return save_overload


def _remove_files(cache) -> int:
    """Remove the kernel's index and data files (not other kernels' files)."""
    cache_file = cache._cache_file
    index = cache_file._index_path
    data = os.path.join(cache_file._cache_path, glob.escape(cache_file._data_name_pattern.split("{")[0]))
    removed = 0
    for path in [index, *glob.glob(data + "*.nbc")]:
        try:
            os.unlink(path)
            removed += 1
        except OSError:
            pass
    return removed
