"""Tools for testing grammars and generation: hypothesis strategies, a reference mask, GGUF
metadata edits, a corpus of short biographies.

Nothing here imports the runtime (tests of a grammar need no model); the runtime's own test tool,
the random-weight GGUF writer, is constrain.runtime.synthetic_gguf. The strategies and the
reference mask are imported on first use, so that importing this package does not need hypothesis.
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
