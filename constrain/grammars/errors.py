"""The one error type of the grammar engine."""

from constrain.errors import ConstrainError


class GrammarError(ConstrainError, ValueError):
    """A grammar cannot be compiled or used: says what was wrong and where (terminal, rule, line)."""
