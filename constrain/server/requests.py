"""The request bodies the server accepts, as OpenAI's API defines them.

Unknown fields are ignored (clients send `user`, `service_tier` and more); fields that ask for
something this server cannot do (n > 1, several prompts) are refused with a 400 naming them.
Each body turns into the keyword arguments of Llama.create_completion / create_chat_completion.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Sampling(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    stream: bool = False
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = None
    n: int = Field(1, ge=1, le=1, description="one choice per request")
    response_format: dict[str, Any] | None = None
    stream_options: dict[str, Any] | None = None

    @property
    def include_usage(self) -> bool:
        """stream_options.include_usage: a last chunk with the token counts and no choices."""
        return bool(self.stream and self.stream_options and self.stream_options.get("include_usage"))

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, value):
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    def sampling_kwargs(self) -> dict:
        bias = None
        if self.logit_bias:
            try:
                bias = {int(token): value for token, value in self.logit_bias.items()}
            except ValueError:
                raise ValueError("logit_bias keys must be token ids") from None
        # OpenAI's sampling has no top-k/min-p: they are off unless asked for
        return dict(temperature=self.temperature, top_p=self.top_p, top_k=0, min_p=0.0, stop=self.stop,
                    seed=self.seed, presence_penalty=self.presence_penalty,
                    frequency_penalty=self.frequency_penalty, logit_bias=bias,
                    response_format=self.response_format, stream=self.stream)


class CompletionRequest(_Sampling):
    prompt: str | list[int] | list[str]
    max_tokens: int | None = Field(16, ge=1)
    logprobs: int | None = Field(None, ge=0, le=20)
    echo: bool = False

    def kwargs(self) -> dict:
        prompt = self.prompt
        if isinstance(prompt, list) and prompt and isinstance(prompt[0], str):
            if len(prompt) != 1:
                raise ValueError("prompt: one prompt per request")
            prompt = prompt[0]
        return dict(prompt=prompt, max_tokens=self.max_tokens, logprobs=self.logprobs, echo=self.echo,
                    **self.sampling_kwargs())


class ChatRequest(_Sampling):
    messages: list[dict[str, Any]] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    tools: list[dict[str, Any]] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None

    def kwargs(self) -> dict:
        return dict(messages=self.messages, max_tokens=self.max_completion_tokens or self.max_tokens,
                    logprobs=self.logprobs, top_logprobs=self.top_logprobs, tools=self.tools,
                    tool_choice=self.tool_choice, **self.sampling_kwargs())


class TokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: str
    add_bos: bool = True
    special: bool = False
