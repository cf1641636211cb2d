"""Extraction over a Ray Dataset: one model per actor, a validated value or an error per row.

Ray is an optional dependency (`pip install 'constrain[ray]'`); see docs/scaling.md for how many
actors a machine holds and what a large job costs.
"""

try:
    import ray.data  # noqa: F401 - every module of this package runs on it
except ImportError as missing:
    raise ImportError(
        "constrain.batch runs extraction on Ray, which is not installed; install it with:\n"
        "    pip install 'constrain[ray]'"
    ) from missing

from constrain.batch.dataset import extract_dataset
from constrain.batch.plan import ActorPlan, BatchConfigError, plan_actors

__all__ = ["ActorPlan", "BatchConfigError", "extract_dataset", "plan_actors"]
