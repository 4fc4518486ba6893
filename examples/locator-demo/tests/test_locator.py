"""The locator's own contract: one instance per kind, per worker with isolation on."""

import os

from locator import settings
from locator.common_path import CommonPathService
from locator.service_locator import ServiceLocator, worker_id


def test_one_instance_per_kind():
    locator = ServiceLocator()
    assert locator.get(CommonPathService) is locator.get(CommonPathService)


def test_worker_id_is_the_xdist_worker_or_the_pid():
    expected = os.environ.get("PYTEST_XDIST_WORKER") or f"pid-{os.getpid()}"
    assert worker_id() == expected


def test_cache_file_is_per_worker_only_with_isolation(monkeypatch):
    monkeypatch.setenv("ENABLE_PID_CACHE_ISOLATION", "1")
    assert settings.isolation_enabled()
    assert worker_id() in CommonPathService().file.name
    monkeypatch.setenv("ENABLE_PID_CACHE_ISOLATION", "0")
    assert CommonPathService().file.name == "common_paths.json"
