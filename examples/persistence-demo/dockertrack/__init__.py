"""dockertrack: records what a Docker-watching agent saw, in SQLite."""

from dockertrack.manager import MIGRATIONS_DIR, SQLiteManager, configure

__all__ = ["MIGRATIONS_DIR", "SQLiteManager", "configure"]
