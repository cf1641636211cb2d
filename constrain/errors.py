"""Every error constrain raises on bad input derives from ConstrainError."""


class ConstrainError(Exception):
    """Base class of all errors raised by constrain."""


class ModelNotFoundError(ConstrainError, FileNotFoundError):
    """The model file does not exist or the default model package is not installed."""


class ModelFormatError(ConstrainError, ValueError):
    """A GGUF file is malformed: truncated, corrupted, or inconsistent with its metadata."""


class UnsupportedModelError(ConstrainError, ValueError):
    """A well-formed GGUF file that constrain cannot run (architecture, tensor type, ...)."""


class TokenizerError(ConstrainError, ValueError):
    """The tokenizer described by the GGUF metadata cannot be built or used."""


class ContextOverflowError(ConstrainError, ValueError):
    """More tokens were evaluated than the context window holds."""


class ContextSizeError(ConstrainError, ValueError):
    """The requested context (n_ctx) cannot be served: more positions than the kernels index, or
    a KV cache larger than the memory that can be reserved for it."""


class SamplingError(ConstrainError, ValueError):
    """Sampler or generation settings are invalid, or no token is left to choose from."""


class ChatTemplateError(ConstrainError, ValueError):
    """A chat template is missing, malformed, unsafe, or raised an exception while rendering."""


class ChatTemplateLimitError(ChatTemplateError):
    """A chat template hit one of the bounds it renders under; `bound` names which one
    ("time", "loop iterations", "output", "integer size", "range", "json indent")."""

    def __init__(self, bound: str, detail: str):
        super().__init__(f"the chat template hit its {bound} bound: {detail}")
        self.bound = bound
        self.detail = detail

    def __reduce__(self):
        return type(self), (self.bound, self.detail)


class ContextError(ConstrainError, ValueError):
    """A request on the model's context that cannot be done: evaluating no tokens, rewinding to a
    position the context does not have."""
