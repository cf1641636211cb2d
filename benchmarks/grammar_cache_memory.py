"""Memory held by compiled grammars: RSS growth while compiling many distinct JSON Schemas, each
with a matcher on SmolLM2's 49k vocabulary that walks a short valid instance (so its mask memos
fill as in a generation). The compiled-grammar cache keeps at most CONSTRAIN_GRAMMAR_CACHE_BYTES
of them (see constrain/grammars/compiled_cache.py); the grammars themselves are dropped after use,
as a server handling one schema per request would.

    python benchmarks/grammar_cache_memory.py [--schemas 200]

Prints RSS after warm-up (tokenizer, vocabulary trie, numba kernels loaded), RSS growth after
every 50 schemas, and the cache's own byte count and entry count.
"""

from __future__ import annotations

import argparse
import gc
import json
import time


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def schema(i: int) -> tuple[dict, dict]:
    """A distinct realistic object schema and one instance of it."""
    props = {
        f"name_{i}": {"type": "string", "maxLength": 40 + i % 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 100 + i},
        "tags": {"type": "array", "items": {"type": "string", "enum": [f"t{i}", f"u{i}", "v"]}, "maxItems": 5},
        "score": {"type": "number", "minimum": -i},
        "active": {"type": "boolean"},
    }
    instance = {f"name_{i}": "Ada", "age": 36, "tags": ["v", f"t{i}"], "score": 1.5, "active": True}
    return {"type": "object", "properties": props, "required": list(props)}, instance


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schemas", type=int, default=200)
    args = parser.parse_args()

    from constrain.grammars import json_schema
    from constrain.grammars.compiled_cache import ENGINES
    from constrain.runtime.default_model import default_model_path
    from constrain.runtime.gguf_file import GGUFFile
    from constrain.runtime.tokenizer.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(GGUFFile(default_model_path()).metadata)

    def use(i: int) -> None:
        s, instance = schema(i)
        matcher = json_schema(s).matcher(tokenizer)
        for token in tokenizer.encode(json.dumps(instance, separators=(",", ":")), add_bos=False):
            matcher.mask_bits()
            matcher.advance(token)
        assert matcher.is_accepting()

    use(-1)  # warm-up: kernels, trie, shared terms
    gc.collect()
    base = rss_mb()
    print(f"cache limit {ENGINES.max_bytes / 2**20:.0f} MiB, {ENGINES.max_entries} entries; "
          f"RSS after warm-up {base:.0f} MB")
    started = time.perf_counter()
    for i in range(args.schemas):
        use(i)
        if (i + 1) % 50 == 0 or i + 1 == args.schemas:
            gc.collect()
            print(f"{i + 1:4d} schemas: RSS +{rss_mb() - base:6.1f} MB, cache {ENGINES.nbytes / 2**20:6.1f} MiB "
                  f"in {len(ENGINES)} entries, {time.perf_counter() - started:5.1f} s")


if __name__ == "__main__":
    main()
