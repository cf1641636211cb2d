"""Tools for testing grammars: hypothesis strategies and a reference mask.

Imported lazily: the runtime uses constrain.testing.byte_unicode and must not need hypothesis.
"""

_EXPORTS = {
    "TokenWalk": "constrain.testing.strategies",
    "sentences": "constrain.testing.strategies",
    "token_walks": "constrain.testing.strategies",
    "assert_masks_agree": "constrain.testing.reference",
    "mask_differences": "constrain.testing.reference",
    "reference_mask": "constrain.testing.reference",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'constrain.testing' has no attribute {name!r}")
