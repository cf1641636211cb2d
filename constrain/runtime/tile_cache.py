"""The repacked tiles of a model, written once to a cache directory and memory-mapped after.

Repacking a 1.1B model takes seconds; reading its tiles back from a file mapping takes
none, and several processes mapping one file share its pages. The cache lives in
$CONSTRAIN_CACHE_DIR (default ~/.cache/constrain)/tiles, never beside the user's model,
one file per model keyed by the model file's identity (path, size, modification time,
inode) and this layout's version.

A cache file is input like any other: before a kernel reads it, its header, every array's
offset, shape and dtype are checked against what the model file says they must be, and a
file that does not match is rebuilt. Files are written to a temporary name and renamed
(a crashed writer leaves no half file under the real name; its temporary file is removed
by the next writer once it is an hour old), and the directory is bounded: beyond
CONSTRAIN_CACHE_MAX_GB (default 20) the least recently used files go.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import tempfile
import time

import numpy as np

FORMAT = 3  # bump whenever the tile layout (quants/tiles.py) changes
MAGIC = b"CONSTRAIN-TILES\n"
ALIGN = 64
STALE_TEMP_SECONDS = 3600
_HEADER_LIMIT = 1 << 20


class CacheMismatch(Exception):
    """A cache file that does not hold what the model needs (it is rebuilt)."""


def cache_directory() -> str:
    base = os.environ.get("CONSTRAIN_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "constrain")
    return os.path.join(base, "tiles")


def max_cache_bytes() -> int:
    try:
        return int(float(os.environ.get("CONSTRAIN_CACHE_MAX_GB", "20")) * 2**30)
    except ValueError:
        return 20 * 2**30


def cache_path(model_path: str, directory: str) -> str:
    st = os.stat(model_path)
    identity = f"{os.path.realpath(model_path)}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}|{st.st_dev}|{FORMAT}"
    name = os.path.basename(model_path).rsplit(".", 1)[0][:60]
    return os.path.join(directory, f"{name}-{hashlib.sha256(identity.encode()).hexdigest()[:24]}.tiles")


def load(path: str, expected: dict[str, tuple[tuple[int, ...], np.dtype]]) -> dict[str, np.ndarray]:
    """The arrays of cache file `path`, read-only views of its mapping, after checking that
    it holds exactly `expected` (name -> (shape, dtype)). Raises CacheMismatch otherwise,
    OSError when it cannot be read."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < len(MAGIC) + 8:
            raise CacheMismatch("file too short")
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if mapped[:len(MAGIC)] != MAGIC:
        raise CacheMismatch("not a tile cache file")
    header_len = int.from_bytes(mapped[len(MAGIC):len(MAGIC) + 8], "little")
    start = len(MAGIC) + 8
    if not 0 < header_len <= min(_HEADER_LIMIT, size - start):
        raise CacheMismatch("header length out of range")
    try:
        header = json.loads(bytes(mapped[start:start + header_len]))
    except ValueError:
        raise CacheMismatch("header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or not isinstance(header.get("arrays"), dict):
        raise CacheMismatch("wrong format version")
    entries = header["arrays"]
    if set(entries) != set(expected):
        raise CacheMismatch("different arrays")
    arrays = {}
    for name, (shape, dtype) in expected.items():
        entry = entries[name]
        try:
            offset, got_shape, got_dtype = int(entry["offset"]), tuple(entry["shape"]), np.dtype(entry["dtype"])
        except (KeyError, TypeError, ValueError):
            raise CacheMismatch(f"bad entry for {name}") from None
        if got_shape != tuple(shape) or got_dtype != np.dtype(dtype):
            raise CacheMismatch(f"{name}: shape or dtype differs")
        nbytes = int(np.prod(shape, dtype=np.int64)) * got_dtype.itemsize
        if offset % ALIGN or offset < start + header_len or offset + nbytes > size:
            raise CacheMismatch(f"{name}: outside the file")
        count = nbytes // got_dtype.itemsize
        arrays[name] = np.frombuffer(mapped, got_dtype, count=count, offset=offset).reshape(shape)
    return arrays


def write(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Write `arrays` to `path` atomically (temporary file, then rename)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    _remove_stale_temporaries(directory)
    entries, offset = {}, 0
    for name, a in arrays.items():
        entries[name] = {"offset": offset, "shape": list(a.shape), "dtype": a.dtype.str}
        offset += -(-a.nbytes // ALIGN) * ALIGN
    # offsets above are relative to the data start, fixed once the header length is known
    data_start = 0
    for _ in range(2):
        header = json.dumps({"format": FORMAT, "arrays": entries}).encode()
        new_start = -(-(len(MAGIC) + 8 + len(header)) // ALIGN) * ALIGN
        if new_start == data_start:
            break
        for entry in entries.values():
            entry["offset"] = entry["offset"] - data_start + new_start
        data_start = new_start
    header = json.dumps({"format": FORMAT, "arrays": entries}).encode()
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".writing-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC + len(header).to_bytes(8, "little") + header)
            for name, a in arrays.items():
                f.seek(entries[name]["offset"])
                f.write(np.ascontiguousarray(a).data)
            f.truncate(max(f.tell(), data_start))
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _bound(directory, keep=path)


def _remove_stale_temporaries(directory: str) -> None:
    now = time.time()
    for entry in os.scandir(directory):
        if entry.name.startswith(".writing-") and entry.name.endswith(".tmp"):
            try:
                if now - entry.stat().st_mtime > STALE_TEMP_SECONDS:
                    os.unlink(entry.path)
            except OSError:
                pass


def _bound(directory: str, keep: str) -> None:
    """Delete the least recently used cache files until the directory fits its bound."""
    files = []
    for entry in os.scandir(directory):
        if entry.name.endswith(".tiles"):
            try:
                st = entry.stat()
            except OSError:
                continue
            files.append((max(st.st_atime, st.st_mtime), st.st_size, entry.path))
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= max_cache_bytes():
            break
        if os.path.samefile(path, keep):
            continue
        try:
            os.unlink(path)
            total -= size
        except OSError:
            pass


def touch(path: str) -> None:
    """Mark a cache file as just used (atime is often not updated by mounts)."""
    try:
        os.utime(path, None)
    except OSError:
        pass
