"""Render a GGUF's `tokenizer.chat_template` (Jinja2) safely.

Templates come from model files, i.e. from strangers: they run in Jinja2's
ImmutableSandboxedEnvironment, which refuses attribute access to Python internals
(`__class__`, `__globals__`, `mro`, ...) and any mutation of the passed data, extended with
bounds on time, loop iterations and every allocation (constrain/runtime/template_sandbox.py;
`ChatTemplate(..., limits=TemplateLimits(...))` changes them). Every failure - syntax, sandbox
violation, `raise_exception(...)` in the template, a bound hit (ChatTemplateLimitError, whose
`bound` says which) - becomes a ChatTemplateError naming the cause. The context matches Hugging
Face's `apply_chat_template`:
`messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `tools`, `raise_exception`,
`strftime_now`, and a `tojson` filter that keeps non-ASCII text as is.
"""

from __future__ import annotations

from datetime import datetime

import jinja2
from jinja2.exceptions import SecurityError, TemplateError

from constrain.errors import ChatTemplateError, ChatTemplateLimitError
from constrain.runtime.template_sandbox import (
    DEFAULT_LIMITS,
    BoundedSandbox,
    TemplateLimits,
    check_time,
    end_render,
    start_render,
)

METADATA_KEY = "tokenizer.chat_template"
MAX_OUTPUT_CHARS = DEFAULT_LIMITS.output_chars  # a rendered prompt longer than any context window is an attack or a bug


class _TemplateRaised(Exception):
    """The template called raise_exception(message)."""


def _raise_exception(message: str) -> None:
    raise _TemplateRaised(str(message))


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _environment() -> BoundedSandbox:
    env = BoundedSandbox(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"],
                         undefined=jinja2.Undefined, autoescape=False)
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


def _check_messages(messages) -> list[dict]:
    if not isinstance(messages, (list, tuple)):
        raise ChatTemplateError(f"messages must be a list of dicts, got {type(messages).__name__}")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ChatTemplateError(f"message {i} must be a dict with 'role' and 'content', got {message!r}")
        if not isinstance(message.get("role"), str):
            raise ChatTemplateError(f"message {i} has no string 'role': {message!r}")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise ChatTemplateError(f"message {i} 'content' must be a string, a list of parts or None, "
                                    f"got {type(content).__name__}")
    return [dict(m) for m in messages]


def special_token_texts(metadata: dict) -> tuple[str, str]:
    """(bos_token, eos_token) texts from GGUF metadata ("" where unknown)."""
    tokens = metadata.get("tokenizer.ggml.tokens")

    def token_text(key: str) -> str:
        index = metadata.get(key)
        if tokens is None or index is None or not 0 <= int(index) < len(tokens):
            return ""
        return str(tokens[int(index)])

    return token_text("tokenizer.ggml.bos_token_id"), token_text("tokenizer.ggml.eos_token_id")


class ChatTemplate:
    """A compiled chat template. `render(messages, add_generation_prompt=True) -> str`."""

    def __init__(self, source: str, bos_token: str = "", eos_token: str = "",
                 limits: TemplateLimits = DEFAULT_LIMITS):
        if not isinstance(source, str) or not source.strip():
            raise ChatTemplateError("the chat template is empty")
        self.source = source
        self.limits = limits
        self.bos_token = bos_token
        self.eos_token = eos_token
        try:
            self._template = _environment().from_string(source)
        except TemplateError as exc:
            raise ChatTemplateError(f"the chat template does not compile: {exc}") from None

    @classmethod
    def from_metadata(cls, metadata: dict) -> ChatTemplate:
        """The template of a GGUF file, with its BOS/EOS token texts."""
        source = metadata.get(METADATA_KEY)
        if source is None:
            raise ChatTemplateError(f"the model has no chat template (metadata key {METADATA_KEY!r})")
        return cls(str(source), *special_token_texts(metadata))

    def render(self, messages, add_generation_prompt: bool = True, tools: list | None = None, **extra) -> str:
        context = dict(extra)
        context.update(messages=_check_messages(messages), add_generation_prompt=add_generation_prompt,
                       bos_token=self.bos_token, eos_token=self.eos_token)
        if tools is not None:
            context["tools"] = tools
        budget = start_render(self.limits)
        try:
            pieces = []
            size = 0
            for piece in self._template.generate(**context):
                check_time()
                size += len(piece)
                if size > self.limits.output_chars:
                    raise ChatTemplateLimitError(
                        "output", f"the rendered text is longer than {self.limits.output_chars} characters")
                pieces.append(piece)
            return "".join(pieces)
        except ChatTemplateError:
            raise
        except _TemplateRaised as exc:
            raise ChatTemplateError(f"the chat template refused the messages: {exc}") from None
        except SecurityError as exc:
            raise ChatTemplateError(f"the chat template tried an unsafe operation and was stopped: {exc}") from None
        except TemplateError as exc:
            raise ChatTemplateError(f"the chat template failed: {type(exc).__name__}: {exc}") from None
        except (RecursionError, MemoryError, OverflowError) as exc:
            raise ChatTemplateError(f"the chat template exhausted resources: {type(exc).__name__}") from None
        except Exception as exc:  # template code runs arbitrary filter/test logic on our data
            raise ChatTemplateError(f"the chat template failed: {type(exc).__name__}: {exc}") from None
        finally:
            end_render(budget)
