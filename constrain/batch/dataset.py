"""extract_dataset: a Ray Dataset in, the same rows out with `extracted` and `error` added."""

from __future__ import annotations

import ray
import ray.data

from constrain.batch.extractor import RowExtractor
from constrain.batch.plan import ActorPlan, BatchConfigError, plan_actors
from constrain.batch.warm import cache_environment, warm_caches

DEFAULT_BATCH_SIZE = 16
DEFAULT_SEQUENCES = 4


def cluster_node_cpus() -> list[float]:
    """The CPUs of each live node of the connected cluster (a local one is started if none is)."""
    if not ray.is_initialized():
        ray.init()
    return [node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node.get("Alive")]


def extract_dataset(ds: ray.data.Dataset, schema, model_path: str | None = None, *, text_column: str = "text",
                    concurrency: int | None = None, num_cpus: int | None = None,
                    batch_size: int = DEFAULT_BATCH_SIZE, n_seq_max: int = DEFAULT_SEQUENCES, n_ctx: int = 2048,
                    warm_up: bool = True, **extract_options) -> ray.data.Dataset:
    """Extract `schema` (a JSON Schema dict or a pydantic model class) from every row's
    `text_column`; returns the dataset (lazy, as Ray Data is) with two more columns:
    `extracted`, the validated value (a pydantic instance as its JSON-ready dict), or None;
    `error`, None or why the row has no value. A bad row (not a string, too long for n_ctx,
    output that does not validate) never fails the job.

    Each of `concurrency` actors loads the model from `model_path` (None: the default model,
    found on each node) and compiles the schema once; it runs `num_cpus` kernel threads, and
    actors x threads never exceed a node's cores (plan.py chooses what is not given, and why
    Ray is told slightly fewer CPUs). An actor takes `batch_size` rows per call and decodes `n_seq_max` of
    them together. `warm_up` runs one short extraction in this process first, so the actors
    find the compiled kernels on disk (warm.py); turn it off when this machine cannot read
    `model_path`. Other keywords go to `constrain.extract` (max_tokens, instructions,
    temperature, ...)."""
    from constrain.grammars import json_schema

    json_schema(schema)  # a schema that cannot compile fails here, once, not in every actor
    if not isinstance(text_column, str):
        raise BatchConfigError(f"text_column must be a column name (str), got {text_column!r}")
    for name, value in (("batch_size", batch_size), ("n_seq_max", n_seq_max), ("n_ctx", n_ctx)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BatchConfigError(f"{name} must be a positive integer, got {value!r}")
    nodes = cluster_node_cpus()
    plan: ActorPlan = plan_actors(nodes, concurrency, num_cpus)
    if warm_up:
        warm_caches(model_path, schema, n_seq_max=n_seq_max, n_ctx=n_ctx, extract_options=extract_options)
    remote_options = {}
    if len(nodes) > 1:  # actors reserve less than their threads (plan.py): spread them, do not pack a node
        remote_options["scheduling_strategy"] = "SPREAD"
    environment = cache_environment()
    if environment:
        remote_options["runtime_env"] = {"env_vars": environment}
    return ds.map_batches(
        RowExtractor,
        fn_constructor_kwargs=dict(model_path=model_path, schema=schema, text_column=text_column,
                                   n_threads=plan.n_threads, n_seq_max=n_seq_max, n_ctx=n_ctx,
                                   extract_options=extract_options),
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=plan.concurrency),
        num_cpus=plan.ray_cpus,
        **remote_options,
    )
