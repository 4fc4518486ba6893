"""Each test points the path service at its own project and reads the cached paths back.

The lookups take a moment (a slow file system, in the original), so under xdist another
worker's test can rewrite the shared cache in between: the read then sees its project.
"""

import time

import pytest

from locator.service_locator import ServiceLocatorManager

PROJECTS = [f"project_{i:02d}" for i in range(16)]


@pytest.mark.parametrize("name", PROJECTS)
def test_paths_follow_the_current_project(name):
    service = ServiceLocatorManager.locator().common_path_service()
    service.set_project(name)
    time.sleep(0.05)
    assert service.current()["project"] == name
    assert service.src_dir() == f"/work/{name}/src"
