"""Feature flags, read from the environment with these defaults."""

import os

# "1" keys every cache by the xdist worker; "0" keeps the one shared cache.
ISOLATION_DEFAULT = "0"


def isolation_enabled() -> bool:
    return os.environ.get("ENABLE_PID_CACHE_ISOLATION", ISOLATION_DEFAULT) == "1"
