"""The callable class Ray Data runs in each actor: one model and one compiled schema per actor,
one validated value (or the reason there is none) per row."""

from __future__ import annotations

from typing import Any

import numpy as np

from constrain.errors import ConstrainError
from constrain.extraction import ExtractionError, extract, extract_many


def describe_error(error: BaseException) -> str:
    """The `error` column's text: the error's type (and reason, for an ExtractionError) and message."""
    kind = type(error).__name__
    if isinstance(error, ExtractionError):
        kind += f"[{error.reason}]"
    return f"{kind}: {error}"


def as_plain_value(value: Any) -> Any:
    """A pydantic instance as the JSON-ready dict it validated into; JSON values as they are."""
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else value


class RowExtractor:
    """Loads the model once and compiles the schema once, in __init__ (Ray Data builds one per
    actor); each call extracts from a batch's `text_column` and adds `extracted` and `error`."""

    def __init__(self, model_path: str | None, schema, *, text_column: str, n_threads: int, n_seq_max: int,
                 n_ctx: int, extract_options: dict):
        from constrain import Llama
        from constrain.grammars import json_schema

        self.text_column = text_column
        self.schema = schema
        self.options = extract_options
        self.llm = Llama(model_path, n_ctx=n_ctx, n_threads=n_threads, n_seq_max=n_seq_max)
        self.grammar = json_schema(schema)
        # builds the token masks' tables for this vocabulary now, not inside the first batch
        self.grammar.matcher(self.llm.tokenizer)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.text_column not in batch:
            raise ConstrainError(  # every row lacks it: a job setting, not a bad row
                f"the dataset has no column {self.text_column!r} (columns: {', '.join(batch)}); "
                f"pass text_column=")
        texts = list(batch[self.text_column])
        extracted = np.full(len(texts), None, dtype=object)
        errors = np.full(len(texts), None, dtype=object)
        runnable = []
        for row, text in enumerate(texts):
            if isinstance(text, str):
                runnable.append(row)
            else:
                errors[row] = (f"BadRow: the {self.text_column!r} column holds "
                               f"{type(text).__name__} {str(text)[:80]!r}, not a string")
        for row, outcome in zip(runnable, self._extract([texts[row] for row in runnable])):
            if isinstance(outcome, BaseException):
                errors[row] = describe_error(outcome)
            else:
                extracted[row] = as_plain_value(outcome)
        return {**batch, "extracted": extracted, "error": errors}

    def _extract(self, texts: list[str]) -> list:
        """Values or errors, one per text. extract_many returns a ConstrainError in a failed
        text's place but raises anything else; then each text runs alone, so an unforeseen
        failure costs its own row, never the batch's nor the job."""
        try:
            return extract_many(self.llm, self.schema, texts, grammar=self.grammar, **self.options)
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except Exception:  # noqa: BLE001 - retried row by row below
            pass
        outcomes = []
        for text in texts:
            try:
                outcomes.append(extract(self.llm, self.schema, text, grammar=self.grammar, **self.options))
            except (KeyboardInterrupt, SystemExit, MemoryError):
                raise
            except Exception as error:  # noqa: BLE001 - recorded in the row's error column
                outcomes.append(error)
        return outcomes
