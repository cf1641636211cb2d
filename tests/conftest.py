import os

import pytest

from constrain.runtime.default_model import default_model_path


@pytest.fixture(scope="session")
def default_model_file() -> str:
    return default_model_path()


@pytest.fixture(scope="session")
def smollm2():
    """The default model, loaded once for every test that needs it (four sequence slots: batched
    runs decode together, and each sequence's answer is what it would be alone)."""
    from constrain import Llama

    return Llama(n_ctx=1024, n_seq_max=4)


def pytest_configure(config):
    # the numba kernels are cached next to their sources; tests should not pay for
    # threads they cannot use on a 2-core machine
    os.environ.setdefault("CONSTRAIN_CACHE_DIR", os.path.join(str(config.rootpath), ".pytest_cache", "constrain"))
