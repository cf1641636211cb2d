"""A damaged numba cache of a constrain kernel is rebuilt with a warning, not fatal on every run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# A small constrain kernel, run in a fresh process with its own numba cache folder.
RUN_KERNEL = """
import warnings, numpy as np
warnings.simplefilter("always")
from constrain.grammars.walk_trie import compact_trie
keep = np.array([True, False, True])
out = compact_trie(keep, np.array([0, 97, 98], np.uint8), np.array([0, 1, 1], np.int32),
               np.array([3, 2, 3], np.int32), np.array([0, 0, 1, 2], np.int32), np.array([5, 6], np.int32))
print("result", out[0].tolist(), out[4].tolist())
"""


def run_kernel(cache_dir) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    return subprocess.run([sys.executable, "-c", RUN_KERNEL], env=env, capture_output=True, text=True, timeout=600)


def cache_files(cache_dir, suffix):
    return [os.path.join(root, f) for root, _, files in os.walk(cache_dir) for f in files
            if f.startswith("walk_trie.compact_trie-") and f.endswith(suffix)]


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("numba-cache")
    first = run_kernel(folder)
    assert first.returncode == 0, first.stderr
    assert cache_files(folder, ".nbi") and cache_files(folder, ".nbc")
    return folder


@pytest.mark.parametrize("damage", [
    (".nbi", b"garbage, not a pickle"),
    (".nbi", b""),
    (".nbc", b"\x80\x04garbage"),
    (".nbc", b""),
])
def test_damaged_cache_is_rebuilt_with_a_warning(warm_cache, tmp_path, damage):
    import shutil

    folder = tmp_path / "cache"
    shutil.copytree(warm_cache, folder)
    suffix, content = damage
    for path in cache_files(folder, suffix):
        with open(path, "wb") as handle:
            handle.write(content)
    second = run_kernel(folder)
    assert second.returncode == 0, second.stderr
    assert "result [0, 98] [6]" in second.stdout
    assert "NumbaCacheWarning" in second.stderr and "damaged" in second.stderr
    # rebuilt: the next run loads it silently
    third = run_kernel(folder)
    assert third.returncode == 0 and "NumbaCacheWarning" not in third.stderr, third.stderr
    assert "result [0, 98] [6]" in third.stdout
    assert not [f for f in os.listdir(cache_files(folder, ".nbi")[0].rsplit(os.sep, 1)[0]) if ".tmp" in f]
