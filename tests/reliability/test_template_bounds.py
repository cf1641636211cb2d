"""Untrusted chat templates render under bounds; real templates render exactly as without them."""

import json
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from constrain.errors import ChatTemplateError, ChatTemplateLimitError
from constrain.runtime.chat_template import ChatTemplate
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.synthetic_gguf import CHATML_TEMPLATE
from constrain.runtime.template_sandbox import TemplateLimits

TEMPLATES = Path(__file__).parent / "chat_templates"
MESSAGES = [{"role": "user", "content": "Hi!"}]


# ---------------------------------------------------------------- bombs

BOMBS = [
    # (template, bound)
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "loop iterations"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{{ loop.index }}{% endfor %}{% endfor %}",
     "loop iterations"),
    ("{% for x in range(100) recursive %}{% if loop.depth < 6 %}{{ loop(range(100)) }}{% endif %}{% endfor %}",
     "loop iterations"),
    ("{% for m in messages * 100000 %}{% for n in messages * 100000 %}{% endfor %}{% endfor %}", "loop iterations"),
    ("{{ ((9**4096)**4096)**4096 }}", "integer size"),
    ("{{ 9 ** 999999999 }}", "integer size"),
    ("{% set x = 9 ** 4096 %}{{ x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x*x }}", "integer size"),
    ("{{ messages | tojson(indent=100000000) }}", "json indent"),
    ("{{ messages | tojson(indent='x' * 100000000) }}", "output"),
    ("{{ messages | tojson(separators=(',' * 1000, ':')) }}", "json indent"),
    ("{{ 'x'.ljust(500000000) }}", "output"),
    ("{{ 'x'.rjust(500000000, '-') }}", "output"),
    ("{{ 'x'.center(500000000) }}", "output"),
    ("{{ 'x'.zfill(500000000) }}", "output"),
    ("{{ 'x' | center(500000000) }}", "output"),
    ("{{ ('\\t' * 1000).expandtabs(1000000) }}", "output"),
    ("{{ '%500000000d' % 1 }}", "output"),
    ("{{ '%.500000000f' % 1.0 }}", "output"),
    ("{{ '%*d' % (500000000, 1) }}", "output"),
    ("{{ '%500000000d' | format(1) }}", "output"),
    ("{{ '{:>500000000}'.format('x') }}", "output"),
    ("{{ '{:{}}'.format('x', 500000000) }}", "output"),
    ("{{ '{x:>500000000}'.format_map({'x': 1}) }}", "output"),
    ("{{ 'x' * 500000000 }}", "output"),
    ("{{ 500000000 * 'ab' }}", "output"),
    ("{{ ([0] * 500000000) | length }}", "output"),
    ("{{ range(100000000) | list | length }}", "range"),
    ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
     "output"),
    ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
     "output"),
    ("{% set ns = namespace(s=[0]) %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "output"),
    ("{{ ('a\\n' * 1000000) | indent(10) }}", "output"),
    ("{{ 'a' | indent(500000000) }}", "output"),
    ("{{ ('a ' * 100) | wordwrap(1, wrapstring='x' * 1000000) }}", "output"),
    ("{{ (['ab'] * 1000000) | join('x' * 1000) }}", "output"),
    ("{{ ('x' * 1000).join(['a'] * 100000) }}", "output"),
    ("{{ ('a' * 1000000).replace('a', 'bbbbbbbbbb') }}", "output"),
    ("{{ ('a' * 1000000) | replace('a', 'bbbbbbbbbb') }}", "output"),
    ("{{ ('x' * 100).translate({120: 'y' * 1000000}) }}", "output"),
    ("{{ (1).to_bytes(1000000000, 'big') }}", "output"),
    ("{{ [1] | batch(1000000000, 0) | list }}", "output"),
    ("{{ [1] | slice(1000000000) | list }}", "range"),
    ("{{ lipsum(1000000) }}", "output"),
    ("{% for i in range(99999) %}{% for j in range(99999) %}{{ 'x' * 1000 }}{% endfor %}{% endfor %}", "output"),
]


@pytest.mark.parametrize("source, bound", BOMBS)
def test_template_bombs_stop_at_their_bound_before_allocating(source, bound):
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ChatTemplateLimitError) as info:
            ChatTemplate(source).render(MESSAGES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a loop bomb may meet the time bound first on a slow machine; both stop it
    expected = (bound, "time") if bound == "loop iterations" else (bound,)
    assert info.value.bound in expected, str(info.value)
    assert info.value.bound in str(info.value)
    assert isinstance(info.value, ChatTemplateError)
    assert peak < 200 * 2**20, f"{peak / 2**20:.0f} MB allocated before the bound stopped the template"
    assert time.monotonic() - started < 30  # a hang guard, not a timing


@pytest.mark.parametrize("source", [
    "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "{{ ([[0] * 1000] * 5000) | sum(start=[]) | length }}",
    "{% for i in range(100000) %}{% for j in range(4) %}{% set x = ('a' * 1000000).upper() %}{% endfor %}"
    "{% endfor %}",
])
def test_slow_templates_stop_at_the_time_bound(source):
    limits = TemplateLimits(seconds=0.5)
    started = time.monotonic()
    with pytest.raises(ChatTemplateLimitError) as info:
        ChatTemplate(source, limits=limits).render(MESSAGES)
    assert info.value.bound in ("time", "output")
    assert time.monotonic() - started < 30  # a hang guard, not a timing


def test_limits_can_be_tightened_and_name_the_bound():
    source = "{% for m in messages %}{% for c in m['content'] %}{{ c }}{% endfor %}{% endfor %}"
    messages = [{"role": "user", "content": "abcdef"}] * 3
    assert ChatTemplate(source).render(messages) == "abcdef" * 3
    with pytest.raises(ChatTemplateLimitError, match="loop iterations bound"):
        ChatTemplate(source, limits=TemplateLimits(loop_iterations=10)).render(messages)
    with pytest.raises(ChatTemplateLimitError, match="output bound"):
        ChatTemplate(source, limits=TemplateLimits(output_chars=10)).render(messages)


def test_bounds_leave_ordinary_operations_alone():
    source = ("{{ 'a'.ljust(5, '.') }}|{{ 'b' | center(5) }}|{{ '%05d' % 42 }}|{{ '{:>4}'.format('c') }}|"
              "{{ 2 ** 10 }}|{{ 3 * 'xy' }}|{{ [1, 2] + [3] }}|{{ 'p' ~ 1 ~ 'q' }}|{{ range(3) | list }}|"
              "{{ messages | tojson(indent=2) | length }}|{{ ['x', 'y'] | join(', ') }}|{{ [1, 2, 3] | sum }}|"
              "{{ 'a\tb'.expandtabs(4) }}|{{ 'aXa'.replace('a', 'bb') }}|{{ 'l1\nl2' | indent(2) }}")
    out = ChatTemplate(source).render(MESSAGES)
    assert out == ("a....|  b  |00042|   c|1024|xyxyxy|[1, 2, 3]|p1q|[0, 1, 2]|"
                   f"{len(json.dumps(MESSAGES, indent=2))}|x, y|6|a   b|bbXbb|l1\n  l2")


# ---------------------------------------------------------------- real templates

def _reference_render(source, messages, bos, eos, tools=None, add_generation_prompt=True):
    """The renderer before the bounds: Jinja's immutable sandbox with the same context."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"],
                                        undefined=jinja2.Undefined, autoescape=False)
    env.filters["tojson"] = lambda value, ensure_ascii=False, indent=None, separators=None, sort_keys=False: (
        json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys))

    def raise_exception(message):
        raise ValueError(message)

    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    context = dict(messages=[dict(m) for m in messages], add_generation_prompt=add_generation_prompt,
                   bos_token=bos, eos_token=eos)
    if tools is not None:
        context["tools"] = tools
    return env.from_string(source).render(**context)


TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city, in °C",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                   "required": ["city"]}}}]
CONVERSATIONS = {
    "plain": ([{"role": "user", "content": "Hello, how are you?"}], None),
    "system": ([{"role": "system", "content": "You are a helpful assistant"},
                {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "  Hi there  "},
                {"role": "user", "content": "Who are you? Ünïcödé ✓"}], None),
    "tools": ([{"role": "user", "content": "Weather in Paris?"},
               {"role": "assistant", "content": "", "tool_calls": [
                   {"id": "call12345", "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
               {"role": "tool", "tool_call_id": "call12345", "content": "{\"temp\": 21}"},
               {"role": "user", "content": "And tomorrow?"}], TOOLS),
}


def _real_templates(default_model_file):
    found = {path.stem: path.read_text() for path in sorted(TEMPLATES.glob("*.jinja"))}
    found["smollm2-gguf"] = GGUFFile(default_model_file).metadata["tokenizer.chat_template"]
    found["synthetic-chatml"] = CHATML_TEMPLATE
    return found


def test_real_templates_render_exactly_as_without_bounds(default_model_file):
    rendered = 0
    for name, source in _real_templates(default_model_file).items():
        for bos, eos in (("<s>", "</s>"), ("<|begin_of_text|>", "<|eot_id|>")):
            for conversation, (messages, tools) in CONVERSATIONS.items():
                for add_generation_prompt in (True, False):
                    try:
                        want = _reference_render(source, messages, bos, eos, tools, add_generation_prompt)
                    except Exception as exc:  # the template refuses this conversation: so must the bounded one
                        with pytest.raises(ChatTemplateError):
                            ChatTemplate(source, bos, eos).render(messages, add_generation_prompt, tools=tools)
                        assert not isinstance(exc, ChatTemplateLimitError)
                        continue
                    got = ChatTemplate(source, bos, eos).render(messages, add_generation_prompt, tools=tools)
                    assert got == want, f"{name} / {conversation} renders differently under the bounds"
                    rendered += 1
    assert rendered >= 80  # most combinations render; a template refusing them all would hide a difference


def test_tool_templates_do_render_the_tools(default_model_file):
    templates = _real_templates(default_model_file)
    messages, tools = CONVERSATIONS["tools"]
    for name in ("llama-3.2-instruct-tools", "qwen2.5-instruct-tools", "granite-3.0-instruct-tools"):
        out = ChatTemplate(templates[name], "<s>", "</s>").render(messages, tools=tools)
        assert "get_weather" in out and "°C" in out, name
