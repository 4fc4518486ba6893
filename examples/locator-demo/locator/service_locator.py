"""The locator: one per process, as the seed's ServiceLocatorManager."""

from __future__ import annotations

import os
from typing import Any

from . import settings
from .common_path import CommonPathService


def worker_id() -> str:
    """The xdist worker id, or the pid outside xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER") or f"pid-{os.getpid()}"


class ServiceLocator:
    def __init__(self) -> None:
        self._worker_id = worker_id()
        # {worker_id: {service type: instance}} with isolation, else one shared bucket.
        self._cache: dict[str, dict[type, Any]] = {}

    def _bucket(self) -> dict[type, Any]:
        key = self._worker_id if settings.isolation_enabled() else "shared"
        return self._cache.setdefault(key, {})

    def get(self, kind: type) -> Any:
        bucket = self._bucket()
        if kind not in bucket:
            bucket[kind] = kind()
        return bucket[kind]

    def common_path_service(self) -> CommonPathService:
        return self.get(CommonPathService)


class ServiceLocatorManager:
    _instance: "ServiceLocatorManager | None" = None
    _locator: ServiceLocator | None = None

    @classmethod
    def locator(cls) -> ServiceLocator:
        if cls._locator is None:
            cls._locator = ServiceLocator()
        return cls._locator
