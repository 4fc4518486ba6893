import pytest

from weatherdb import ReadingStore, synthetic_readings

STATIONS = ["oslo", "hamburg", "paris", "lyon", "madrid", "sevilla"]


@pytest.fixture
def readings():
    """A leap year of hourly readings for six stations, north to south, as a list."""
    return list(synthetic_readings(STATIONS, 2024, seed=7))


@pytest.fixture
def store(readings):
    """A fresh store with those readings loaded."""
    s = ReadingStore()
    s.load(readings)
    return s
