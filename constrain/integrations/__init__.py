"""Constrain's grammars inside other generation frameworks.

    from constrain.integrations.transformers import GrammarLogitsProcessor   # pip install 'constrain[transformers]'

Submodules import their framework only when imported themselves.
"""
