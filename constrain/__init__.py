"""constrain: local LLaMA-family inference whose output is guaranteed to follow a grammar."""

from constrain.errors import ConstrainError

__all__ = ["ConstrainError"]
__version__ = "0.1.0"
