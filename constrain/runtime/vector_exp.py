"""exp(x) for float32 as plain arithmetic, so loops over it vectorize.

numba lowers np.exp on float32 to a libm call per element (about 8 ns here): SwiGLU's
5,632 exps per token and layer and the softmax of a prompt's attention were 5-6% of a
TinyLlama prompt each. This is Cody-Waite range reduction (x = n ln2 + r, |r| <= ln2/2)
and Cephes' degree-6 polynomial for e^r, scaled by 2^n built in the exponent bits:
within 5 ulp of the float64 value (fastmath may fuse its steps), and the same arithmetic whether LLVM runs an
element in a vector lane or in a scalar remainder loop, so a row's result does not
depend on where a thread's chunk or the vector loop starts.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from constrain.runtime.quants.bits import float32_from_bits

_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)  # few mantissa bits: n * _LN2_HI is exact
_LN2_LO = np.float32(-2.12194440e-4)
# clamped to keep 2^n's exponent field in 1..254 (a normal float32): callers only need
# e^x for x <= 0 (softmax) or as 1 + e^x in a denominator (SiLU), where the ends do not matter
_X_MAX = np.float32(88.0)
_X_MIN = np.float32(-87.3365478515625)
_P0 = np.float32(1.9875691500e-4)
_P1 = np.float32(1.3981999507e-3)
_P2 = np.float32(8.3334519073e-3)
_P3 = np.float32(4.1665795894e-2)
_P4 = np.float32(1.6666665459e-1)
_P5 = np.float32(5.0000001201e-1)


@njit(inline="always", fastmath=True, cache=True)
def exp_f32(x):
    """e^x as float32 within 5 ulp on [-87, 88]; below it gives the smallest normal float
    (1.2e-38) rather than 0, above it e^88 (1.65e38) rather than up to inf."""
    x = min(max(np.float32(x), _X_MIN), _X_MAX)
    n = np.floor(x * _LOG2E + np.float32(0.5))
    r = x - n * _LN2_HI - n * _LN2_LO
    p = ((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5
    p = p * r * r + r + np.float32(1.0)
    scale = float32_from_bits(np.uint32(np.int32(n) + np.int32(127)) << np.uint32(23))
    return p * scale
