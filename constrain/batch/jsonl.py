"""`constrain extract --ray`: a JSONL file of texts in, one JSON line per text out, in order.

The output has the same shape as without --ray: the extracted value, or {"error": ...} in its
place, line for line. Input lines that are not JSON, or hold no text, get their error line
without going to Ray; the others are extracted by extract_dataset.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TextIO

import ray
import ray.data

from constrain.batch.dataset import extract_dataset
from constrain.errors import ConstrainError

LOCAL_OBJECT_STORE_BYTES = 512 << 20  # rows are texts; beyond this Ray spills to disk


def read_jsonl_texts(path: str) -> Iterator[tuple[str | None, str | None]]:
    """(text, None) for each line holding a JSON string or an object with a "text" string,
    (None, why not) for any other non-blank line."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                yield None, f"{path}:{number}: not JSON ({e})"
                continue
            text = item.get("text") if isinstance(item, dict) else item
            if isinstance(text, str):
                yield text, None
            else:
                yield None, f'{path}:{number}: expected a JSON string or an object with a "text" string'


def extract_jsonl(input_path: str, out: TextIO, schema, model_path: str | None = None, *,
                  ray_address: str | None = None, **job_options) -> tuple[int, int]:
    """Extract from every line of `input_path`, writing one JSON line per input line to `out`.
    Joins the cluster at `ray_address`, else starts a local Ray for this run. Returns (lines,
    lines with an error)."""
    lines = list(read_jsonl_texts(input_path))
    started_here = not ray.is_initialized()
    if started_here:
        if ray_address:
            ray.init(address=ray_address)
        else:
            ray.init(object_store_memory=LOCAL_OBJECT_STORE_BYTES, include_dashboard=False)
    execution = ray.data.DataContext.get_current().execution_options
    kept_order = execution.preserve_order
    results = iter(())
    try:
        # output lines follow input lines as they arrive, not when the job ends
        execution.preserve_order = True
        rows = [{"line": index, "text": text} for index, (text, _) in enumerate(lines) if text is not None]
        if rows:
            results = iter(extract_dataset(ray.data.from_items(rows), schema, model_path, **job_options).iter_rows())
        failed = 0
        for index, (text, problem) in enumerate(lines):
            if text is not None:
                row = next(results)
                if row["line"] != index:  # never pair a value with another line's text
                    raise ConstrainError(f"Ray Data returned line {row['line'] + 1} where line {index + 1} belongs")
                problem = row["error"]
            value = {"error": problem} if problem is not None else row["extracted"]
            failed += problem is not None
            out.write(json.dumps(value, ensure_ascii=False) + "\n")
            out.flush()
        return len(lines), failed
    finally:
        close = getattr(results, "close", None)
        if close is not None:  # the iterator reports to Ray when it ends: before Ray does
            close()
        execution.preserve_order = kept_order
        if started_here:
            ray.shutdown()
