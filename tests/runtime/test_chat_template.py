"""Chat templates: SmolLM2's ChatML, HF's helpers, and templates that try to escape the sandbox."""

import json
from datetime import datetime

import pytest

from constrain.errors import ChatTemplateError, ConstrainError
from constrain.generation import create_chat_completion
from constrain.runtime.chat_template import ChatTemplate
from constrain.runtime.gguf_file import GGUFFile
from tests.generation_fakes import FakeLlama, fake_metadata

SMOLLM_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def test_smollm2_template_renders_chatml(default_model_file):
    template = ChatTemplate.from_metadata(GGUFFile(default_model_file).metadata)
    messages = [{"role": "user", "content": "Hi!"}]
    assert template.render(messages) == (
        f"<|im_start|>system\n{SMOLLM_SYSTEM}<|im_end|>\n"
        "<|im_start|>user\nHi!<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    with_system = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                   {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye"}]
    assert template.render(with_system, add_generation_prompt=False) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
    )
    assert template.bos_token == "<|im_start|>" and template.eos_token == "<|im_end|>"


def test_hf_context_helpers():
    source = ("{{ bos_token }}{% for m in messages %}{{ m | tojson }}{% endfor %}"
              "{{ strftime_now('%Y') }}{% if add_generation_prompt %}>{% endif %}{{ eos_token }}")
    out = ChatTemplate(source, "<s>", "</s>").render([{"role": "user", "content": "héllo"}])
    assert out == '<s>{"role": "user", "content": "héllo"}' + str(datetime.now().year) + "></s>"
    assert json.loads(out[3:out.index("}") + 1])["content"] == "héllo"


def test_raise_exception_becomes_a_chat_template_error():
    source = ("{% if messages[0]['role'] != 'user' %}{{ raise_exception('first message must be from the user') }}"
              "{% endif %}")
    with pytest.raises(ChatTemplateError, match="first message must be from the user"):
        ChatTemplate(source).render([{"role": "assistant", "content": "x"}])


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__ }}",
    "{{ messages.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__['os'] }}",
    "{{ raise_exception.__globals__['__builtins__']['__import__']('os') }}",
    "{{ self._TemplateReference__context }}",
    "{% set x = messages.append({'role': 'x'}) %}",
    "{% set _ = messages[0].update({'content': 'pwned'}) %}",
    "{{ messages[0].pop('content') }}",
    "{{ (messages | attr('__class__')) }}",
    "{{ lipsum.__globals__['os'].system('true') }}",
    "{{ 'x' * 100000000 }}",
    "{{ 9 ** 999999999 }}",
    "{% for i in range(100000000) %}{% endfor %}",
    "{% for i in range(99999) %}{% for j in range(99999) %}xxxxxxxxxx{% endfor %}{% endfor %}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_fail_with_a_typed_error(source):
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(ChatTemplateError) as info:
        ChatTemplate(source).render(messages)
    assert isinstance(info.value, ConstrainError)
    assert messages == [{"role": "user", "content": "hi"}]


def test_bad_templates_and_messages():
    with pytest.raises(ChatTemplateError, match="does not compile"):
        ChatTemplate("{% for %}")
    with pytest.raises(ChatTemplateError, match="empty"):
        ChatTemplate("")
    with pytest.raises(ChatTemplateError, match="no chat template"):
        ChatTemplate.from_metadata({})
    template = ChatTemplate("{{ messages[0]['content'] }}")
    with pytest.raises(ChatTemplateError, match="role"):
        template.render([{"content": "x"}])
    with pytest.raises(ChatTemplateError, match="list"):
        template.render("hello")


# ---------------------------------------------------------------- chat completion

def test_chat_completion_shape_and_stop_at_end_of_generation():
    llm = FakeLlama(eog_bias=50.0)  # the model ends its turn at once
    result = create_chat_completion(llm, [{"role": "user", "content": "hi"}], seed=0)
    assert result["object"] == "chat.completion" and result["id"].startswith("chatcmpl-")
    (choice,) = result["choices"]
    assert choice["message"] == {"role": "assistant", "content": ""}
    assert choice["finish_reason"] == "stop"
    prompt = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert result["usage"]["prompt_tokens"] == len(llm.tokenize(prompt.encode(), special=True))


def test_chat_stream_deltas_concatenate_to_the_message():
    for seed in range(3):
        kwargs = dict(messages=[{"role": "user", "content": "hello"}], max_tokens=12, seed=seed, logprobs=True,
                      top_logprobs=2)
        whole = create_chat_completion(FakeLlama(), **kwargs)
        chunks = list(create_chat_completion(FakeLlama(), stream=True, **kwargs))
        assert all(c["object"] == "chat.completion.chunk" for c in chunks)
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
        assert chunks[-1]["choices"][0]["delta"] == {}
        assert chunks[-1]["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"]
        content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        assert content == whole["choices"][0]["message"]["content"]
        streamed_lp = [e for c in chunks if c["choices"][0]["logprobs"] for e in c["choices"][0]["logprobs"]["content"]]
        assert streamed_lp == whole["choices"][0]["logprobs"]["content"]


def test_chat_template_override_and_special_tokens_parsed():
    llm = FakeLlama(eog_bias=50.0, metadata=fake_metadata("{{ raise_exception('not this one') }}"))
    with pytest.raises(ChatTemplateError, match="not this one"):
        create_chat_completion(llm, [{"role": "user", "content": "x"}])
    template = "{% for m in messages %}<|im_start|>{{ m['content'] }}{% endfor %}"
    result = create_chat_completion(llm, [{"role": "user", "content": "x"}], chat_template=template)
    # "<|im_start|>" is one control token, "x" one byte token
    assert result["usage"]["prompt_tokens"] == 2
