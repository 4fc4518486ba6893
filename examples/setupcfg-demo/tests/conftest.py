import random

import pytest


@pytest.fixture
def blob():
    """Eight MiB of deterministic pseudo-random content."""
    return random.Random(1234).randbytes(8 * 1024 * 1024)
