"""weatherdb: station readings in SQLite, with the daily and monthly statistics reports use."""

from weatherdb.store import ReadingStore, synthetic_readings

__all__ = ["ReadingStore", "synthetic_readings"]
