"""A store of temperature readings and the aggregate queries over them."""

from __future__ import annotations

import math
import random
import sqlite3
from datetime import date, timedelta
from typing import Iterable, Iterator, NamedTuple

SCHEMA = """
CREATE TABLE readings (
    station TEXT    NOT NULL,
    day     TEXT    NOT NULL,
    hour    INTEGER NOT NULL CHECK (hour BETWEEN 0 AND 23),
    celsius REAL    NOT NULL,
    PRIMARY KEY (station, day, hour)
) WITHOUT ROWID;
CREATE INDEX idx_readings_day ON readings(day);
"""


class Reading(NamedTuple):
    """One hourly reading."""

    station: str
    day: str
    hour: int
    celsius: float


def synthetic_readings(stations: Iterable[str], year: int, seed: int = 0) -> Iterator[Reading]:
    """A year of hourly readings per station (each warmer than the one before it): a seasonal
    and daily cycle plus noise."""
    rng = random.Random(seed)
    start = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - start).days
    for s, station in enumerate(stations):
        base = 4.0 + 2.0 * s
        for d in range(days):
            day = (start + timedelta(days=d)).isoformat()
            season = 10.0 * math.sin(2 * math.pi * (d - 105) / days)
            for hour in range(24):
                daily = 4.0 * math.sin(2 * math.pi * (hour - 9) / 24)
                yield Reading(station, day, hour, round(base + season + daily + rng.gauss(0, 1.5), 2))


class ReadingStore:
    """Readings in an SQLite database (in memory unless a path is given)."""

    def __init__(self, path: str = ":memory:") -> None:
        self.conn = sqlite3.connect(path)
        self.conn.row_factory = sqlite3.Row
        self.conn.executescript(SCHEMA)

    def load(self, readings: Iterable[Reading]) -> int:
        """Insert readings in one transaction; returns how many."""
        with self.conn:
            cur = self.conn.executemany("INSERT INTO readings VALUES (?, ?, ?, ?)", readings)
        return cur.rowcount

    def count(self) -> int:
        """How many readings are stored."""
        return self.conn.execute("SELECT COUNT(*) FROM readings").fetchone()[0]

    def daily(self, station: str) -> list[sqlite3.Row]:
        """Per day: min, max and mean temperature of one station."""
        return self.conn.execute(
            "SELECT day, MIN(celsius) AS low, MAX(celsius) AS high, AVG(celsius) AS mean"
            " FROM readings WHERE station = ? GROUP BY day ORDER BY day",
            (station,),
        ).fetchall()

    def monthly_means(self) -> dict[tuple[str, str], float]:
        """Mean temperature per (station, YYYY-MM)."""
        rows = self.conn.execute(
            "SELECT station, substr(day, 1, 7) AS month, AVG(celsius) AS mean"
            " FROM readings GROUP BY station, month"
        ).fetchall()
        return {(r["station"], r["month"]): r["mean"] for r in rows}

    def hottest_days(self, n: int = 5) -> list[sqlite3.Row]:
        """The `n` hottest station-days by daily high, ranked with a window function."""
        return self.conn.execute(
            "SELECT station, day, high, rank FROM ("
            "  SELECT station, day, MAX(celsius) AS high,"
            "         RANK() OVER (ORDER BY MAX(celsius) DESC) AS rank"
            "  FROM readings GROUP BY station, day"
            ") WHERE rank <= ? ORDER BY rank, station, day",
            (n,),
        ).fetchall()

    def frost_days(self, station: str) -> int:
        """Days on which the station dropped below zero."""
        return self.conn.execute(
            "SELECT COUNT(*) FROM (SELECT day FROM readings WHERE station = ?"
            " GROUP BY day HAVING MIN(celsius) < 0)",
            (station,),
        ).fetchone()[0]

    def percentile(self, station: str, p: float) -> float:
        """The nearest-rank `p`-th percentile of a station's readings."""
        n = self.conn.execute("SELECT COUNT(*) FROM readings WHERE station = ?", (station,)).fetchone()[0]
        if n == 0:
            raise LookupError(station)
        rank = max(1, math.ceil(p / 100 * n))
        return self.conn.execute(
            "SELECT celsius FROM readings WHERE station = ? ORDER BY celsius LIMIT 1 OFFSET ?",
            (station, rank - 1),
        ).fetchone()[0]
