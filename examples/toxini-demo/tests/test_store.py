"""Loading and aggregating a year of readings; every test builds its own store."""

import sqlite3
from collections import defaultdict
from statistics import fmean

import pytest

from weatherdb import ReadingStore, synthetic_readings

STATIONS = ["oslo", "hamburg", "paris", "lyon", "madrid", "sevilla"]


def test_every_reading_is_stored(store):
    assert store.count() == 6 * 366 * 24


def test_generation_is_deterministic(readings):
    assert readings == list(synthetic_readings(STATIONS, 2024, seed=7))


def test_daily_has_one_row_per_day(store):
    rows = store.daily("lyon")
    assert len(rows) == 366
    assert rows[0]["day"] == "2024-01-01" and rows[-1]["day"] == "2024-12-31"


def test_daily_low_high_mean_are_ordered(store):
    for row in store.daily("oslo"):
        assert row["low"] <= row["mean"] <= row["high"]


def test_daily_matches_python(store, readings):
    by_day = defaultdict(list)
    for r in readings:
        if r.station == "sevilla":
            by_day[r.day].append(r.celsius)
    for row in store.daily("sevilla"):
        values = by_day[row["day"]]
        assert (row["low"], row["high"]) == (min(values), max(values))
        assert row["mean"] == pytest.approx(fmean(values))


def test_monthly_means_match_python(store, readings):
    groups = defaultdict(list)
    for r in readings:
        groups[(r.station, r.day[:7])].append(r.celsius)
    means = store.monthly_means()
    assert means.keys() == groups.keys()
    for key, values in groups.items():
        assert means[key] == pytest.approx(fmean(values))


def test_summer_is_warmer_than_winter(store):
    means = store.monthly_means()
    for station in STATIONS:
        assert means[(station, "2024-07")] > means[(station, "2024-01")] + 10


def test_southern_station_is_warmer(store):
    means = store.monthly_means()
    assert means[("sevilla", "2024-04")] > means[("oslo", "2024-04")]


def test_hottest_days_are_ranked(store):
    rows = store.hottest_days(5)
    assert rows[0]["rank"] == 1
    highs = [r["high"] for r in rows]
    assert highs == sorted(highs, reverse=True)
    assert all(r["station"] == "sevilla" for r in rows)


def test_frost_days_by_station(store):
    assert store.frost_days("oslo") > store.frost_days("lyon") >= store.frost_days("sevilla")


@pytest.mark.parametrize("p", [5, 50, 95])
def test_percentile_matches_sorted(store, readings, p):
    values = sorted(r.celsius for r in readings if r.station == "lyon")
    rank = max(1, -(-p * len(values) // 100))
    assert store.percentile("lyon", p) == values[rank - 1]


def test_unknown_station_has_no_percentile(store):
    with pytest.raises(LookupError):
        store.percentile("atlantis", 50)


def test_duplicate_reading_is_refused(store, readings):
    with pytest.raises(sqlite3.IntegrityError):
        store.load(readings[:1])
    assert store.count() == 6 * 366 * 24


def test_bad_hour_is_refused():
    s = ReadingStore()
    with pytest.raises(sqlite3.IntegrityError):
        s.load([("oslo", "2024-01-01", 24, 1.0)])
    assert s.count() == 0
