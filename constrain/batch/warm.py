"""Fill the on-disk caches once, in the driver, before the actors start.

A process that finds them cold compiles constrain's numba kernels (about two minutes for the
extraction path on a 2-core machine), repacks the model's tiles, builds the vocabulary's trie
and checks the schema for refusals; with them warm it loads all of that in about a second. Left
to the actors, every actor of a node would do the same work at once on cores that are meant
for decoding. One short extraction here writes every cache the actors read: numba's (beside
constrain's sources, or NUMBA_CACHE_DIR) and constrain's ($CONSTRAIN_CACHE_DIR), which the
actors are given the same settings for (`cache_environment`).
"""

from __future__ import annotations

import gc
import os
import time

CACHE_VARIABLES = ("CONSTRAIN_CACHE_DIR", "NUMBA_CACHE_DIR")
WARM_TEXT = "Ada Lovelace was born in London in 1815."
WARM_TOKENS = 8  # enough to run prompt batches, batched decode steps and masks once


def cache_environment() -> dict[str, str]:
    """The cache locations this process uses, for the actors' environment: warming here helps
    only if they read the same folders."""
    return {name: os.environ[name] for name in CACHE_VARIABLES if os.environ.get(name)}


def warm_caches(model_path: str | None, schema, *, n_seq_max: int, n_ctx: int, extract_options: dict) -> float:
    """Run one short batched extraction with the actors' settings; returns the seconds it took.
    Errors in the settings (a missing model file, an unknown option) surface here, once,
    instead of in every actor; the extraction's own result does not matter."""
    from constrain import Llama
    from constrain.extraction import extract_many
    from constrain.grammars import json_schema

    started = time.perf_counter()
    llm = Llama(model_path, n_ctx=n_ctx, n_seq_max=n_seq_max)
    options = {**extract_options, "max_tokens": WARM_TOKENS}
    extract_many(llm, schema, [WARM_TEXT] * min(2, n_seq_max), grammar=json_schema(schema), **options)
    del llm
    gc.collect()  # the driver keeps no model while the actors run
    return time.perf_counter() - started
