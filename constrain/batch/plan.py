"""How many actors, how many kernel threads each, and how many CPUs each tells Ray it uses.

numba splits every parallel loop evenly among its threads and a loop ends when its slowest
thread does, so a thread waiting for a core another actor holds stalls the whole token (two
processes at 2 threads each on 2 cores ran 34x slower each, constrain/runtime/threads.py). The
plan therefore never gives the actors of a node more threads, together, than the node has cores.

What an actor reserves in Ray's accounting is a little less than its threads: actors that
reserve every CPU slot of a node leave none for the dataset's own tasks (reading the input
needs a slot), and Ray Data then waits forever (ray-project/ray#44687). Each node keeps one
slot free; a read task briefly shares a core with the actors, which costs far less than a hang.
"""

from __future__ import annotations

from dataclasses import dataclass

from constrain.errors import ConstrainError


class BatchConfigError(ConstrainError, ValueError):
    """The batch job's settings cannot run on the cluster it was given (actors, CPUs, columns)."""


@dataclass(frozen=True)
class ActorPlan:
    concurrency: int  # actors, each holding one model
    n_threads: int  # kernel threads (= cores) of each actor's model
    ray_cpus: float  # CPUs each actor reserves in Ray's accounting (see the module's docstring)


def plan_actors(node_cpus: list[float], concurrency: int | None = None, num_cpus: int | None = None) -> ActorPlan:
    """The plan for a cluster whose nodes have `node_cpus` CPUs each.

    num_cpus: cores (kernel threads) per actor. By default one single-threaded actor per core:
    on the default model two such actors extract 2.2x as many documents per second as one actor
    with both cores (the sampler and grammar steps between model passes run in Python, one core
    per actor; docs/benchmarks.md), memory allowing (docs/scaling.md). `concurrency` alone
    splits the cores evenly among that many actors; `num_cpus` alone fits as many actors as
    the nodes hold."""
    nodes = [int(c) for c in node_cpus if int(c) >= 1]
    if not nodes:
        raise BatchConfigError("the Ray cluster has no node with a whole CPU to run an actor on")
    for name, value in (("concurrency", concurrency), ("num_cpus", num_cpus)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise BatchConfigError(f"{name} must be a positive integer, got {value!r}")
    smallest = min(nodes)
    if num_cpus is None:
        num_cpus = 1 if concurrency is None else max(1, min(smallest, sum(nodes) // concurrency))
    if num_cpus > smallest:
        raise BatchConfigError(
            f"num_cpus={num_cpus} per actor is more than the smallest node's {smallest} CPUs; "
            f"an actor's threads must fit on one node's cores")
    fits = sum(n // num_cpus for n in nodes)
    if concurrency is None:
        concurrency = fits
    elif concurrency > fits:
        raise BatchConfigError(
            f"{concurrency} actors x {num_cpus} CPUs each do not fit on the cluster's nodes "
            f"({'+'.join(map(str, nodes))} CPUs hold {fits} such actors); more threads than cores "
            f"stall every actor, so lower concurrency or num_cpus")
    # scaled so that the actors filling the smallest node leave one CPU slot of it free
    ray_cpus = num_cpus * (smallest - 1) / smallest
    return ActorPlan(concurrency=concurrency, n_threads=num_cpus, ray_cpus=round(ray_cpus, 4))
