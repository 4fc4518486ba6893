"""A simulated database: each query waits as long as the real one would.

`LEDGER_LATENCY_SCALE` (default 1) scales every wait, so the same suite runs in a tenth of the
time under a test harness."""

import os
import time

SCALE = float(os.environ.get("LEDGER_LATENCY_SCALE", "1"))


def query(seconds):
    """Waits `seconds` (scaled) as a round trip to the store would, and returns the rows."""
    time.sleep(seconds * SCALE)
    return [("opening", 100), ("sale", 250), ("refund", -40)]
