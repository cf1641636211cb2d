"""Numba kernels behind the processors and samplers: one pass (or two) over the vocabulary.

Logits are float32 arrays over the whole vocabulary; -inf marks a removed token. A token is a
*candidate* while its logit is finite. Full sorts of a 49k vocabulary cost ~1.3 ms here
(a fifth of a model step), so the kernels select instead: a bounded heap for the top k, and a
histogram of keys for "the smallest prefix of the sorted order whose mass reaches p", which
sorts only the one bucket where the prefix ends.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NEG_INF = np.float32(-np.inf)

# Below this many candidates a stable full sort is cheap and matches llama.cpp step for step.
SMALL = 2048

# Histogram for prefix selection: keys are surprises (nats) relative to the best token.
_N_BUCKETS = 1024
_BUCKETS_PER_NAT = 32.0


@njit(cache=True)
def masked_copy(logits, allowed):
    """Logits where `allowed`, -inf elsewhere."""
    out = np.empty(logits.size, np.float32)
    for i in range(logits.size):
        out[i] = logits[i] if allowed[i] else NEG_INF
    return out


@njit(cache=True)
def _worse(v_a, i_a, v_b, i_b):
    # ranking: larger logit first, then smaller token id first
    return v_a < v_b or (v_a == v_b and i_a > i_b)


@njit(cache=True)
def top_k_indices(logits, k):
    """Ids of the k best candidates, best first (ties: smaller id first).

    A size-k min-heap on (logit, -id); most tokens are rejected by one comparison with the
    heap root, so the pass costs about one read of the logits.
    """
    n_cand = 0
    for i in range(logits.size):
        if logits[i] != -np.inf:
            n_cand += 1
    k = min(k, n_cand)
    heap_v = np.empty(k, np.float32)
    heap_i = np.empty(k, np.int64)
    size = 0
    for i in range(logits.size):
        v = logits[i]
        if v == -np.inf:
            continue
        if size < k:
            j = _sift_up(heap_v, heap_i, size, v, i)
            size += 1
        elif _worse(heap_v[0], heap_i[0], v, i):
            j = _sift_down(heap_v, heap_i, size, v, i)
        else:
            continue
        heap_v[j] = v
        heap_i[j] = i
    # order best first: sort by (-logit, id); ids are unique so a stable sort on ids then on
    # logits gives the tie order
    order = np.argsort(heap_i[:size], kind="mergesort")
    ids = heap_i[:size][order]
    vals = heap_v[:size][order]
    order2 = np.argsort(-vals, kind="mergesort")
    return ids[order2]


@njit(cache=True)
def _sift_up(heap_v, heap_i, size, v, i):
    """Make room for (v, i) in a heap of `size` entries growing by one: move the better parents
    down; returns the slot where (v, i) belongs."""
    j = size
    while j > 0:
        parent = (j - 1) >> 1
        if not _worse(v, i, heap_v[parent], heap_i[parent]):
            break
        heap_v[j], heap_i[j] = heap_v[parent], heap_i[parent]
        j = parent
    return j


@njit(cache=True)
def _sift_down(heap_v, heap_i, size, v, i):
    """Make room for (v, i) in place of the root: move the worse children up; returns the slot
    where (v, i) belongs."""
    j = 0
    while True:
        child = 2 * j + 1
        if child >= size:
            break
        if child + 1 < size and _worse(heap_v[child + 1], heap_i[child + 1], heap_v[child], heap_i[child]):
            child += 1
        if not _worse(heap_v[child], heap_i[child], v, i):
            break
        heap_v[j], heap_i[j] = heap_v[child], heap_i[child]
        j = child
    return j


@njit(cache=True)
def keep_only(logits, ids):
    """-inf everywhere except at `ids`."""
    out = np.full(logits.size, NEG_INF, np.float32)
    for j in range(ids.size):
        out[ids[j]] = logits[ids[j]]
    return out


@njit(cache=True)
def keep_at_least(logits, threshold):
    """Logits >= threshold survive, the rest become -inf."""
    out = np.empty(logits.size, np.float32)
    for i in range(logits.size):
        v = logits[i]
        out[i] = v if v >= threshold else NEG_INF
    return out


@njit(cache=True)
def _bucket(key):
    b = int(key * _BUCKETS_PER_NAT)
    if b >= _N_BUCKETS or b < 0:  # also catches overflow of huge keys
        return _N_BUCKETS - 1
    return b


@njit(cache=True)
def _reached(mass, kept, target, min_keep, strict):
    if kept < min_keep:
        return False
    return mass > target if strict else mass >= target


@njit(cache=True)
def smallest_mass_prefix(keys, sort_keys, probs, target, min_keep, strict):
    """Keep the shortest prefix, in ascending (key, position) order, whose mass reaches target.

    `keys` (>= 0, nats) place tokens in histogram buckets; `sort_keys` order them exactly
    (same order as keys, but without rounding: e.g. -logit rather than max - logit).

    Works on compact arrays of candidates (positions in id order, so ties break by id).
    `strict` chooses `mass > target` (typical-p) over `mass >= target` (top-p); prefix sums
    are float32 as in llama.cpp. If the mass never reaches the target every candidate stays.
    Returns a boolean keep-mask over the positions.
    """
    n = keys.size
    keep = np.zeros(n, np.bool_)
    mass = np.zeros(_N_BUCKETS, np.float64)
    count = np.zeros(_N_BUCKETS, np.int64)
    for i in range(n):
        b = _bucket(keys[i])
        mass[b] += probs[i]
        count[b] += 1
    cum = 0.0
    kept = 0
    boundary = -1
    for b in range(_N_BUCKETS):
        if count[b] == 0:
            continue
        if _reached(cum + mass[b] * (1.0 + 1e-6), kept + count[b], target, min_keep, strict):
            boundary = b
            break
        cum += mass[b]
        kept += count[b]
    if boundary < 0:
        keep[:] = True
        return keep
    members = np.empty(count[boundary], np.int64)
    m = 0
    cum32 = np.float32(0.0)
    for i in range(n):
        b = _bucket(keys[i])
        if b < boundary:
            keep[i] = True
            cum32 += probs[i]
        elif b == boundary:
            members[m] = i
            m += 1
    reached, cum32, kept = _keep_in_order(members, sort_keys, probs, keep, cum32, kept, target, min_keep, strict)
    if not reached:
        # rounding kept the mass just short of the target inside the boundary bucket: the prefix
        # goes on through the later buckets, in order
        _keep_in_order(np.flatnonzero(~keep), sort_keys, probs, keep, cum32, kept, target, min_keep, strict)
    return keep


@njit(cache=True)
def _keep_in_order(positions, sort_keys, probs, keep, cum32, kept, target, min_keep, strict):
    """Keep `positions` in ascending sort-key order, adding their mass to `cum32` (float32) and
    their count to `kept`, until the target is reached. Returns (reached, cum32, kept)."""
    order = np.argsort(sort_keys[positions], kind="mergesort")
    for j in range(order.size):
        i = positions[order[j]]
        keep[i] = True
        cum32 += probs[i]
        kept += 1
        if _reached(cum32, kept, target, min_keep, strict):
            return True, cum32, kept
    return False, cum32, kept


@njit(cache=True)
def first_reaching(weights, target):
    """First position whose running sum (float64) reaches target, skipping zero weights."""
    running = 0.0
    last = -1
    for i in range(weights.size):
        w = weights[i]
        if w > 0.0:
            running += w
            last = i
            if running >= target:
                return i
    return last


@njit(cache=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
def weighted_offsets(weights, logits, max_logit):
    """sum_i w_i * (logit_i - max_logit) over candidates (a term of the entropy)."""
    total = np.float32(0.0)
    for i in range(weights.size):
        d = logits[i] - max_logit
        total += weights[i] * d if weights[i] > 0.0 else np.float32(0.0)
    return total


# exp(x) for float32 by range reduction and a degree-6 polynomial (Cephes' expf constants):
# numpy's exp runs ~2.5 ns per element here (no AVX-512 kernels on this CPU), this loop
# vectorizes to AVX2 and is ~2.5x faster, within 3e-7 relative error. -inf (removed) gives 0.
_EXP_LOW = np.float32(-87.0)
_EXP_HIGH = np.float32(88.0)


@njit(cache=True, fastmath=True)
def _exp_parts(x, shift, poly, scale_bits):
    log2e = np.float32(1.4426950408889634)
    c1 = np.float32(0.693359375)
    c2 = np.float32(-2.12194440e-4)
    for i in range(x.size):
        d = x[i] - shift
        v = min(max(d, _EXP_LOW), _EXP_HIGH)
        n = np.floor(v * log2e + np.float32(0.5))
        r = v - n * c1 - n * c2
        p = np.float32(1.9875691500e-4)
        p = p * r + np.float32(1.3981999507e-3)
        p = p * r + np.float32(8.3334519073e-3)
        p = p * r + np.float32(4.1665795894e-2)
        p = p * r + np.float32(1.6666665459e-1)
        p = p * r + np.float32(5.0000001201e-1)
        p = p * r * r + r + np.float32(1.0)
        poly[i] = p if d >= _EXP_LOW else np.float32(0.0)
        scale_bits[i] = (np.int32(n) + np.int32(127)) << 23  # 2**n as float32 bits


def exp_shifted(x: np.ndarray, shift) -> np.ndarray:
    """float32 exp(x - shift), elementwise; exp(-inf) = 0."""
    poly = np.empty(x.size, np.float32)
    scale = np.empty(x.size, np.float32)
    _exp_parts(x, np.float32(shift), poly, scale.view(np.int32))
    poly *= scale
    return poly


@njit(cache=True)
def first_invalid(logits):
    """Position of the first NaN or +inf logit, or -1 (finite values and -inf are valid)."""
    for i in range(logits.size):
        v = logits[i]
        if v != v or v == np.inf:
            return i
    return -1


@njit(cache=True)
def remask(logits, allowed):
    """`logits` with -inf where `allowed` is False, in place; returns how many stay finite."""
    kept = 0
    for i in range(logits.size):
        if not allowed[i]:
            logits[i] = NEG_INF
        elif logits[i] != NEG_INF:
            kept += 1
    return kept
