"""Where a project's files live, cached on disk so later calls skip the lookup."""

from __future__ import annotations

import json
import os
from pathlib import Path

from . import settings

ROOT = Path(__file__).resolve().parent.parent


def cache_file() -> Path:
    """The on-disk cache: one fixed file, or one per worker with isolation on."""
    if settings.isolation_enabled():
        worker = os.environ.get("PYTEST_XDIST_WORKER") or f"pid-{os.getpid()}"
        return ROOT / ".cache" / f"common_paths-{worker}.json"
    return ROOT / ".cache" / "common_paths.json"


class CommonPathService:
    def __init__(self) -> None:
        self.file = cache_file()
        self.file.parent.mkdir(exist_ok=True)

    def set_project(self, name: str) -> None:
        """Resolves the project's directories and caches them (the whole cache, rewritten)."""
        entry = {"project": name, "src": f"/work/{name}/src", "docs": f"/work/{name}/docs"}
        tmp = self.file.with_name(f"{self.file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry))
        tmp.replace(self.file)

    def current(self) -> dict:
        return json.loads(self.file.read_text())

    def src_dir(self) -> str:
        return self.current()["src"]
