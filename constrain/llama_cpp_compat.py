"""llama-cpp-python's `Llama(...)` keywords: which ones mean something here, which are ignored.

Code written for llama-cpp-python passes its constructor keywords (`n_gpu_layers=-1`,
`n_batch=512`, `use_mlock=True`, ...). Rather than fail with a TypeError, `Llama` takes them:
the ones with a meaning on this CPU runtime are honoured, the others are accepted with one
warning that names them. A keyword llama-cpp-python does not have is still a TypeError.
"""

from __future__ import annotations

import warnings

# keyword -> the value at which it asks for nothing this runtime lacks (None: any value is moot)
IGNORED = {
    "n_gpu_layers": 0,  # CPU only
    "split_mode": None,
    "main_gpu": 0,
    "tensor_split": None,
    "rpc_servers": None,
    "vocab_only": False,
    "use_mlock": False,
    "kv_overrides": None,
    "n_threads_batch": None,  # one thread count serves prompts and generation
    "n_ubatch": None,
    "rope_scaling_type": None,
    "pooling_type": None,
    "rope_freq_base": 0.0,  # the GGUF's values are used
    "rope_freq_scale": 0.0,
    "yarn_ext_factor": None,
    "yarn_attn_factor": None,
    "yarn_beta_fast": None,
    "yarn_beta_slow": None,
    "yarn_orig_ctx": None,
    "embedding": False,
    "offload_kqv": None,
    "flash_attn": None,
    "no_perf": None,
    "last_n_tokens_size": None,
    "lora_base": None,
    "lora_scale": None,
    "lora_path": None,
    "numa": False,
    "chat_format": None,  # the GGUF's own chat template is used
    "chat_handler": None,
    "draft_model": None,
    "tokenizer": None,
    "type_k": None,
    "type_v": None,
    "spm_infill": None,
}
# honoured here: n_batch (prompt tokens per forward pass), logits_all (keep every position's
# logits), use_mmap (weights are always memory-mapped; False is ignored)
HONOURED = ("n_batch", "logits_all", "use_mmap")


def split(kwargs: dict) -> dict:
    """The honoured keywords' values; warns once about the ignored ones; TypeError on unknown ones."""
    unknown = sorted(k for k in kwargs if k not in IGNORED and k not in HONOURED)
    if unknown:
        raise TypeError(f"Llama() got unexpected keyword argument(s) {', '.join(unknown)}")
    ignored = [f"{k}={v!r}" for k, v in kwargs.items()
               if k in IGNORED and v is not None and (IGNORED[k] is None or v != IGNORED[k])]
    if kwargs.get("use_mmap") is False:
        ignored.append("use_mmap=False (weights are always memory-mapped)")
    if ignored:
        warnings.warn("constrain runs on the CPU and ignores these llama-cpp-python arguments: " + ", ".join(ignored),
                      UserWarning, stacklevel=3)
    honoured = {k: kwargs[k] for k in ("n_batch", "logits_all") if k in kwargs}
    if "n_batch" in honoured and (not isinstance(honoured["n_batch"], int) or honoured["n_batch"] < 1):
        raise ValueError(f"n_batch must be a positive integer, got {honoured['n_batch']!r}")
    return honoured


def to_openai_types(result, chunk: bool):
    """A chat completion dict (or a stream of chunk dicts) as the `openai` package's types."""
    try:
        from openai.types.chat import ChatCompletion, ChatCompletionChunk
    except ImportError:
        return result
    if chunk:
        return (ChatCompletionChunk.model_validate(c) for c in result)
    return ChatCompletion.model_validate(result)
