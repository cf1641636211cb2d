"""The tokenizers of the synthetic GGUF files the model tests use load and round-trip."""

from __future__ import annotations

import pytest

from constrain.runtime.gguf_file import GGUFFile
from constrain.runtime.synthetic_gguf import TINY_SHAPES
from constrain.runtime.tokenizer import load_tokenizer
from tests.runtime.tiny_models import tiny_model


@pytest.mark.parametrize("family", sorted(TINY_SHAPES))
def test_tiny_model_tokenizer(tmp_path_factory, family):
    path = tiny_model(str(tmp_path_factory.mktemp("tok")), family, "F32")
    tok = load_tokenizer(GGUFFile(path).metadata)
    text = "the rain in spain, 42 €!"
    ids = tok.encode(text, add_bos=False)
    assert ids and all(0 <= i < tok.n_vocab for i in ids)
    assert tok.decode(ids) == text.encode()
    assert tok.eos_id in tok.eog_ids
