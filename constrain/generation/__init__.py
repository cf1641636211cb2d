"""Text generation in llama-cpp-python's shape, as functions of a model object `llm`."""

from constrain.generation.chat import create_chat_completion
from constrain.generation.completion import create_completion
from constrain.generation.scoring import classify, score
from constrain.generation.settings import build_pipeline

__all__ = ["create_completion", "create_chat_completion", "score", "classify", "build_pipeline"]
