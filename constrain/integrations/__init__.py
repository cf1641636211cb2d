"""Constrain's grammars inside other generation frameworks.

    from constrain.integrations.transformers import GrammarLogitsProcessor   # pip install 'constrain[transformers]'

hf_vocabulary.py reads a Hugging Face tokenizer's vocabulary for the grammar engine; hf_tokenizer.py
goes the other way (a Hugging Face tokenizer from a GGUF file's vocabulary, for tests and benchmarks).

Submodules import their framework only when imported themselves.
"""
