"""Tokenizers for the grammar tests: SmolLM2's real BPE tokenizer and a tiny SPM one."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from constrain.grammars.compiled_cache import ENGINES
from tests.grammars.grammar_zoo import SPM_CORPUS
from tests.grammars.process_state import fresh_process


@pytest.fixture(scope="session")
def smollm2_tokenizer():
    from constrain.runtime.default_model import default_model_path
    from constrain.runtime.gguf_file import GGUFFile
    from constrain.runtime.tokenizer.tokenizer import load_tokenizer

    return load_tokenizer(GGUFFile(default_model_path()).metadata)


@dataclass
class SpmTokenizer:
    """A sentencepiece BPE model with byte fallback, shaped like constrain's tokenizers."""

    processor: object
    pieces: list

    def vocab_bytes(self) -> list[bytes]:
        return list(self.pieces)

    @property
    def n_vocab(self) -> int:
        return len(self.pieces)

    @property
    def control_ids(self) -> frozenset:
        sp = self.processor
        return frozenset(i for i in range(self.n_vocab) if sp.is_control(i) or sp.is_unknown(i))

    @property
    def eog_ids(self) -> frozenset:
        return frozenset({self.processor.eos_id()})

    def encode(self, text: str, add_bos: bool = False) -> list[int]:
        return list(self.processor.encode(text))


def _piece_bytes(sp, i: int) -> bytes:
    if sp.is_byte(i):
        return bytes([int(sp.id_to_piece(i)[3:5], 16)])
    if sp.is_control(i) or sp.is_unknown(i):
        return b""
    return sp.id_to_piece(i).replace("\u2581", " ").encode("utf-8")


@pytest.fixture(scope="session")
def spm_tokenizer():
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(SPM_CORPUS * 3),
        model_writer=model,
        vocab_size=700,
        model_type="bpe",
        byte_fallback=True,
        add_dummy_prefix=False,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        split_digits=True,
        character_coverage=1.0,
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    return SpmTokenizer(sp, [_piece_bytes(sp, i) for i in range(sp.get_piece_size())])


@pytest.fixture(params=["smollm2", "spm"])
def any_tokenizer(request):
    return request.getfixturevalue(f"{request.param}_tokenizer")


def pytest_terminal_summary(terminalreporter):
    """SchemaStore schemas the JSON Schema engine refused, with the keyword and path it named."""
    import sys

    corpus = sys.modules.get("tests.grammars.schemastore_corpus")
    if corpus is None or not (corpus.COMPILED or corpus.REFUSALS):
        return
    total = len(corpus.COMPILED) + len(corpus.REFUSALS)
    terminalreporter.section("SchemaStore corpus")
    terminalreporter.write_line(f"{len(corpus.COMPILED)} of {total} schemas compiled; refused:")
    for name, refusal in sorted(corpus.REFUSALS.items()):
        terminalreporter.write_line(f"  {name}: {refusal[:300]}")


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh CONSTRAIN_CACHE_DIR and process state; yields the folder of grammar files."""
    monkeypatch.setenv("CONSTRAIN_CACHE_DIR", str(tmp_path))
    fresh_process(monkeypatch)
    yield tmp_path / "grammars"
    ENGINES.clear()
