"""The tile cache: written once per model file into the cache directory, mapped after,
checked before use (a damaged or foreign file is rebuilt), written atomically, bounded."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from constrain.runtime import tile_cache
from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.model import LlamaModel
from tests.runtime.tiny_models import tiny_model


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv("CONSTRAIN_CACHE_DIR", str(directory))
    return directory / "tiles"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return tiny_model(str(tmp_path_factory.mktemp("models")), "tinyllama", "Q4_K_M", dim=256, ffn_dim=512, n_layer=3)


TOKENS = np.array([5, 9, 40, 7])


def logits(path):
    model = LlamaModel(GGUFFile(path), n_ctx=16)
    return np.concatenate([model.forward(TOKENS[:2], logits_all=True), model.forward(TOKENS[2:3]),
                           model.forward(TOKENS[3:4])]), model


def cache_files(directory):
    return sorted(p for p in os.listdir(directory) if p.endswith(".tiles")) if directory.exists() else []


def test_second_load_maps_the_cache(cache_dir, model_path):
    first, _ = logits(model_path)
    files = cache_files(cache_dir)
    assert len(files) == 1 and not any(name.endswith(".tiles") for name in os.listdir(os.path.dirname(model_path)))
    mtime = os.stat(cache_dir / files[0]).st_mtime_ns
    second, model = logits(model_path)
    np.testing.assert_array_equal(first, second)
    quants = model.weights.stacked.gate_up.u4.quants
    assert not quants.flags.writeable and not quants.flags.owndata  # a view of the mapped file
    assert cache_files(cache_dir) == files and os.stat(cache_dir / files[0]).st_mtime_ns >= mtime


def damage_truncate(path):
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def damage_magic(path):
    with open(path, "r+b") as f:
        f.write(b"NOT-A-TILE-FILE!")


def damage_header(path):
    with open(path, "r+b") as f:
        f.seek(len(tile_cache.MAGIC))
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
        name = next(iter(header["arrays"]))
        header["arrays"][name]["shape"][0] += 1  # claims more than the model needs
        text = json.dumps(header).encode().ljust(header_len)[:header_len]
        f.seek(len(tile_cache.MAGIC) + 8)
        f.write(text)


def damage_offsets(path):
    with open(path, "r+b") as f:
        f.seek(len(tile_cache.MAGIC))
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
        for entry in header["arrays"].values():
            entry["offset"] = 1 << 40  # far past the end of the file
        text = json.dumps(header).encode()
        f.seek(len(tile_cache.MAGIC))
        f.write(len(text).to_bytes(8, "little") + text)


@pytest.mark.parametrize("damage", [damage_truncate, damage_magic, damage_header, damage_offsets])
def test_a_damaged_cache_is_rebuilt(cache_dir, model_path, damage):
    want, _ = logits(model_path)
    (name,) = cache_files(cache_dir)
    damage(str(cache_dir / name))
    got, _ = logits(model_path)
    np.testing.assert_array_equal(got, want)
    assert cache_files(cache_dir) == [name]
    tile_cache.load(str(cache_dir / name), {k: (a.shape, a.dtype) for k, a in _arrays(cache_dir / name).items()})


def _arrays(path):
    with open(path, "rb") as f:
        f.seek(len(tile_cache.MAGIC))
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
    return {k: np.empty(v["shape"], v["dtype"]) for k, v in header["arrays"].items()}


def test_a_changed_model_file_gets_its_own_cache_entry(cache_dir, model_path, tmp_path):
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(open(model_path, "rb").read())
    logits(str(copy))
    os.utime(copy, ns=(time.time_ns(), time.time_ns() + 10**9))
    logits(str(copy))
    assert len(cache_files(cache_dir)) == 2


def test_no_cache_when_disabled(cache_dir, model_path, monkeypatch):
    monkeypatch.setenv("CONSTRAIN_TILE_CACHE", "0")
    logits(model_path)
    assert cache_files(cache_dir) == []


def test_writes_are_atomic_bounded_and_clean_up(tmp_path, monkeypatch):
    directory = tmp_path / "tiles"
    directory.mkdir()
    stale = directory / ".writing-old.tmp"
    stale.write_bytes(b"half a file")
    os.utime(stale, (time.time() - 2 * tile_cache.STALE_TEMP_SECONDS,) * 2)
    fresh = directory / ".writing-busy.tmp"  # another process may be writing it right now
    fresh.write_bytes(b"x")
    arrays = {"a": np.arange(1000, dtype=np.float32), "b": np.ones((3, 64), np.uint8)}
    monkeypatch.setenv("CONSTRAIN_CACHE_MAX_GB", str(6000 / 2**30))  # room for one file
    tile_cache.write(str(directory / "one.tiles"), arrays)
    os.utime(directory / "one.tiles", (time.time() - 100,) * 2)
    tile_cache.write(str(directory / "two.tiles"), arrays)
    assert sorted(os.listdir(directory)) == [".writing-busy.tmp", "two.tiles"]
    loaded = tile_cache.load(str(directory / "two.tiles"), {k: (a.shape, a.dtype) for k, a in arrays.items()})
    for k, a in arrays.items():
        np.testing.assert_array_equal(loaded[k], a)
    with pytest.raises(tile_cache.CacheMismatch):
        tile_cache.load(str(directory / "two.tiles"), {"a": ((1001,), np.float32), "b": ((3, 64), np.uint8)})
