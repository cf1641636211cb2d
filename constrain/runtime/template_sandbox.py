"""The Jinja2 sandbox chat templates run in, with bounds on time, loops and every allocation.

Jinja's ImmutableSandboxedEnvironment stops templates from reaching Python internals, but not
from spending the machine: nested loops run for hours, `(9**4096)**4096` computes for minutes,
and `'x'.ljust(500000000)`, `tojson(indent=10**8)` or `s ~ s` doubled in a loop build
gigabytes before any output is seen. Here every operation that can build something larger
than its inputs computes the size of its result first and refuses when it would pass a bound:

- loops: every `for` (and every recursive `loop(...)` call) draws from one iteration budget
  per render; `range` is limited in size;
- a wall-clock budget per render, checked at every loop iteration, call and intercepted
  operator;
- strings, lists and tuples built by `*`, `+`, `~`, `%`, str methods (ljust, rjust, center,
  zfill, expandtabs, join, replace, translate, format, format_map) and filters (center,
  indent, wordwrap, join, replace, format, batch, slice, sum, tojson, urlize) may not exceed
  the output bound; integers from `*` and `**` may not exceed a number of bits;
- tojson's indent and separators are limited, and its output is counted as it is encoded.

A bound that is hit raises ChatTemplateLimitError, whose `bound` names it. The bounds sit far
above what real templates use (SmolLM2, Llama 2/3, Mistral, ChatML, Qwen with tools render a
conversation in well under a thousand iterations), so those render exactly as before.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import re
import string
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum, pass_environment
from jinja2.visitor import NodeTransformer

from constrain.errors import ChatTemplateLimitError


@dataclass(frozen=True)
class TemplateLimits:
    """Bounds for one render of an untrusted template."""

    output_chars: int = 1 << 22        # the rendered text, and any one string or list built on the way
    loop_iterations: int = 100_000     # all loop iterations of one render together
    seconds: float = 2.0               # wall-clock time of one render
    integer_bits: int = 1 << 16        # size of an integer built by * or **
    range_items: int = 100_000         # items of one range(...)
    json_indent: int = 64              # tojson's indent and separator widths


DEFAULT_LIMITS = TemplateLimits()


class RenderBudget:
    """What one render has spent so far."""

    def __init__(self, limits: TemplateLimits):
        self.limits = limits
        self.deadline = time.monotonic() + limits.seconds
        self.iterations = 0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise ChatTemplateLimitError("time", f"rendering took longer than {self.limits.seconds} s")

    def tick(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.loop_iterations:
            raise ChatTemplateLimitError("loop iterations",
                                         f"the loops ran more than {self.limits.loop_iterations} iterations")
        if not self.iterations & 1023:
            self.check_time()


_current: contextvars.ContextVar[RenderBudget | None] = contextvars.ContextVar("chat_template_budget", default=None)


def start_render(limits: TemplateLimits) -> contextvars.Token:
    return _current.set(RenderBudget(limits))


def end_render(token: contextvars.Token) -> None:
    _current.reset(token)


def check_time() -> None:
    """Raise ChatTemplateLimitError if the current render is past its deadline."""
    budget = _current.get()
    if budget is not None:
        budget.check_time()


# ---- names the compiled templates import (see _BoundingTransformer) ---------------------

def counted(iterable: Iterable) -> Iterator:
    """`iterable`, charging every item to the render's loop budget."""
    budget = _current.get()
    if budget is None:
        yield from iterable
        return
    for item in iterable:
        budget.tick()
        yield item


def concat(*pieces: Any) -> str:
    """The `~` operator, bounded before joining."""
    texts = [str(p) for p in pieces]
    _check_size(sum(len(t) for t in texts), "the ~ operator")
    return "".join(texts)


def _limits() -> TemplateLimits:
    budget = _current.get()
    return budget.limits if budget is not None else DEFAULT_LIMITS


def _check_size(size: int, what: str) -> None:
    limit = _limits().output_chars
    if size > limit:
        raise ChatTemplateLimitError("output", f"{what} would build {size} items, more than {limit}")


def _check_width(width: Any, what: str) -> None:
    if isinstance(width, int) and width > _limits().output_chars:
        _check_size(width, what)


def _check_int_bits(bits: int, what: str) -> None:
    limit = _limits().integer_bits
    if bits > limit:
        raise ChatTemplateLimitError("integer size", f"{what} would build a {bits}-bit integer, more than {limit}")


class _BoundingTransformer(NodeTransformer):
    """Rewrites the parsed template: loops draw from the budget, `~` is size-checked."""

    def __init__(self, environment):
        self.environment = environment

    def _call(self, name: str, args: list, lineno: int) -> nodes.Call:
        target = nodes.ImportedName(f"{__name__}.{name}", lineno=lineno)
        return nodes.Call(target, args, [], None, None, lineno=lineno)

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = self._call("counted", [node.iter], node.lineno)
        return node

    def visit_Call(self, node: nodes.Call) -> nodes.Call:
        self.generic_visit(node)
        # a recursive loop's `loop(items)` iterates items without a For node of its own
        if isinstance(node.node, nodes.Name) and node.node.name == "loop" and node.args:
            node.args[0] = self._call("counted", [node.args[0]], node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        self.generic_visit(node)
        return self._call("concat", list(node.nodes), node.lineno)


class _BoundingCodeGenerator(CodeGenerator):
    def visit_Template(self, node: nodes.Template, frame=None) -> None:
        node = _BoundingTransformer(self.environment).visit(node)
        node.set_environment(self.environment)
        super().visit_Template(node, frame)


# ---- format strings --------------------------------------------------------------------

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]")


def _percent_widths(fmt: str, args: Any) -> int:
    """Sum of the widths and precisions a printf-style format asks for."""
    total = 0
    stars = 0
    for match in _PERCENT_SPEC.finditer(fmt):
        for group in match.groups():
            if group == "*":
                stars += 1
            elif group:
                total += int(group)
    if stars:
        values = args if isinstance(args, tuple) else (args,)
        total += sum(v for v in values[:stars] if isinstance(v, int))
    return total


def _brace_widths(fmt: str) -> int:
    """Sum of the widths and precisions a str.format string asks for."""
    total = 0
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError:
        return 0  # str.format will raise its own error
    for _, field, spec, _ in parsed:
        if field is None or not spec:
            continue
        if "{" in spec:
            raise ChatTemplateLimitError("output", f"format spec {spec!r} takes its width from an argument")
        total += sum(int(n) for n in re.findall(r"\d+", spec))
    return total


def _check_percent(fmt: str, args: Any, what: str) -> None:
    _check_size(len(fmt) + _percent_widths(fmt, args), what)


# ---- bounded str methods ---------------------------------------------------------------

def _size_of_method_result(obj: str | bytes, name: str, args: tuple, kwargs: dict) -> int | None:
    """Upper bound of len(obj.name(*args, **kwargs)) for the methods that can grow text."""
    if name in ("ljust", "rjust", "center", "zfill"):
        width = args[0] if args else kwargs.get("width", 0)
        return max(len(obj), width) if isinstance(width, int) else None
    if name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        tab = "\t" if isinstance(obj, str) else b"\t"
        return len(obj) + obj.count(tab) * max(tabsize, 0) if isinstance(tabsize, int) else None
    if name == "join" and args:
        items = args[0]
        if isinstance(items, (list, tuple, str, bytes, dict)):
            return sum(len(i) if isinstance(i, (str, bytes)) else 0 for i in items) + len(obj) * max(len(items) - 1, 0)
        return None
    if name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, type(obj)) and isinstance(new, type(obj)):
            count = obj.count(old) if old else len(obj) + 1
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                count = min(count, args[2])
            return len(obj) + count * max(len(new) - len(old), 0)
        return None
    if name == "translate" and args and isinstance(args[0], dict):
        longest = max((len(v) for v in args[0].values() if isinstance(v, (str, bytes))), default=1)
        return len(obj) * max(longest, 1)
    return None


# ---- bounded filters -------------------------------------------------------------------

_PASSED_NAMES = ("eval_ctx", "context", "environment", "env")


def _bounded_filter(original, check):
    """`original` with `check(arguments_by_name)` run first; keeps Jinja's pass_* marker."""
    signature = inspect.signature(original)
    # Jinja passes a context first to filters marked pass_*; async variants are marked so even
    # when the signature they report (the sync function's) does not take it
    first = next(iter(signature.parameters), "")
    skip = 1 if getattr(original, "jinja_pass_arg", None) is not None and first not in _PASSED_NAMES else 0

    @functools.wraps(original)
    def bounded(*args, **kwargs):
        check_time()
        bound = signature.bind(*args[skip:], **kwargs)
        bound.apply_defaults()
        check(bound.arguments)
        return original(*args, **kwargs)

    return bounded


def _text_len(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes)) else len(str(value))


def _check_center(a):
    _check_width(a["width"], "center")


def _check_indent(a):
    text, width = str(a["s"]), a["width"]
    per_line = width if isinstance(width, int) else len(str(width))
    _check_size(len(text) + (text.count("\n") + 1) * max(per_line, 0), "indent")


def _check_wordwrap(a):
    text, width = str(a["s"]), a["width"]
    wrap = a["wrapstring"] or "\n"
    lines = len(text) // max(width if isinstance(width, int) else 1, 1) + text.count("\n") + 1
    _check_size(len(text) + lines * len(str(wrap)), "wordwrap")


def _check_join(a):
    value = a["value"]
    if isinstance(value, (list, tuple, str, dict)):
        sep = str(a["d"])
        _check_size(sum(_text_len(v) for v in value) + len(sep) * max(len(value) - 1, 0), "join")


def _check_replace(a):
    text, old, new = str(a["s"]), str(a["old"]), str(a["new"])
    size = _size_of_method_result(text, "replace", (old, new) + ((a["count"],) if a["count"] is not None else ()), {})
    _check_size(size or 0, "replace")


def _check_batch(a):
    _check_width(a["linecount"], "batch")


def _check_slice(a):
    slices = a["slices"]
    if isinstance(slices, int) and slices > _limits().range_items:
        raise ChatTemplateLimitError("range", f"slice into {slices} parts is more than {_limits().range_items}")


def _check_format(a):
    value = str(a["value"])
    _check_percent(value, tuple(a["args"]) or dict(a["kwargs"]), "format")


def _check_urlize(a):
    for key in ("target", "rel"):
        if a.get(key) is not None and len(str(a[key])) > _limits().json_indent:
            raise ChatTemplateLimitError("output", f"urlize {key} of {len(str(a[key]))} characters is too long")


_FILTER_CHECKS = {"center": _check_center, "indent": _check_indent, "wordwrap": _check_wordwrap,
                  "join": _check_join, "replace": _check_replace, "batch": _check_batch, "slice": _check_slice,
                  "format": _check_format, "urlize": _check_urlize}


@pass_environment
def _bounded_sum(environment, iterable, attribute=None, start=0):
    """Jinja's sum, adding through the bounded `+` (summing lists or strings can grow quadratically)."""
    if attribute is not None:
        iterable = map(make_attrgetter(environment, attribute), iterable)
    total = start
    for item in counted(iterable):
        check_time()
        total = _bounded_add(total, item)
    return total


def _bounded_add(left, right):
    if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
        _check_size(len(left) + len(right), "the + operator")
    return left + right


def tojson(value: Any, ensure_ascii: bool = False, indent: int | str | None = None, separators=None,
           sort_keys: bool = False) -> str:
    """Hugging Face's tojson (non-ASCII kept), with its indent bounded and its output counted."""
    limits = _limits()
    width = indent if isinstance(indent, int) else len(indent) if isinstance(indent, str) else 0
    widths = [width] + [len(s) for s in (separators or ()) if isinstance(s, str)]
    if max(widths) > limits.json_indent:
        raise ChatTemplateLimitError("json indent", f"tojson indent or separator of width {max(widths)} is more "
                                                    f"than {limits.json_indent}")
    encoder = json.JSONEncoder(ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    pieces, size = [], 0
    for piece in encoder.iterencode(value):
        size += len(piece)
        if size > limits.output_chars:
            raise ChatTemplateLimitError("output", f"tojson output is longer than {limits.output_chars} characters")
        pieces.append(piece)
    return "".join(pieces)


def bounded_range(*args: int) -> range:
    items = range(*args)
    limit = _limits().range_items
    if len(items) > limit:
        raise ChatTemplateLimitError("range", f"range{args} has {len(items)} items, more than {limit}")
    return items


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    if isinstance(n, int) and isinstance(max, int):
        _check_size(n * max * 12, "lipsum")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, made loud and bounded.

    Jinja's sandbox answers an unsafe attribute with an Undefined that prints as ""; here it
    raises, so a probing template fails visibly.
    """

    code_generator_class = _BoundingCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options):
        super().__init__(**options)
        self.globals["range"] = bounded_range
        self.globals["lipsum"] = bounded_lipsum
        for name, check in _FILTER_CHECKS.items():
            self.filters[name] = _bounded_filter(self.filters[name], check)
        self.filters["sum"] = _bounded_sum
        self.filters["tojson"] = tojson

    def unsafe_undefined(self, obj: Any, attribute: str):
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        check_time()
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, (str, bytes, list, tuple)) and isinstance(count, int):
                    _check_size(len(seq) * max(count, 0), "the * operator")
            if isinstance(left, int) and isinstance(right, int):
                _check_int_bits(abs(left).bit_length() + abs(right).bit_length(), "the * operator")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
                _check_int_bits(abs(left).bit_length() * right, "the ** operator")
        elif operator == "+":
            return _bounded_add(left, right)
        elif operator == "%" and isinstance(left, (str, bytes)):
            fmt = left if isinstance(left, str) else left.decode("latin-1")
            _check_percent(fmt, right, "the % operator")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
        check_time()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (str, bytes)):
            size = _size_of_method_result(owner, getattr(__obj, "__name__", ""), args, kwargs)
            if size is not None:
                _check_size(size, f"str.{__obj.__name__}")
        elif isinstance(owner, int) and getattr(__obj, "__name__", "") == "to_bytes":
            length = args[0] if args else kwargs.get("length", 1)
            _check_width(length, "int.to_bytes")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any):
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            fmt = value.__self__
            _check_size(len(fmt) + _brace_widths(fmt), f"str.{value.__name__}")
        return wrapped
