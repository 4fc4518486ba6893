"""Images: pulled images, their labels, and when they may be deleted."""

import sqlite3

import pytest

DIGEST = "sha256:" + "cd" * 32


def test_image_row_by_column_name(manager, image, session_id):
    row = manager.get_image(image)
    assert row["repository"] == "nginx"
    assert row["tag"] == "1.27"
    assert row["size_bytes"] == 187_000_000
    assert row["session_id"] == session_id
    assert row["image_id"].startswith("sha256:")


def test_row_keys_are_the_columns(manager, image):
    assert manager.get_image(image).keys() == [
        "id",
        "image_id",
        "repository",
        "tag",
        "size_bytes",
        "session_id",
        "pulled_at",
        "labels",
    ]


def test_default_tag_is_latest(manager):
    pk = manager.add_image(DIGEST, "alpine")
    assert manager.get_image(pk)["tag"] == "latest"


def test_find_by_reference(manager, image):
    assert manager.find_image("nginx:1.27")["id"] == image
    assert manager.find_image("nginx") is None


def test_find_without_tag_means_latest(manager):
    pk = manager.add_image(DIGEST, "redis")
    assert manager.find_image("redis")["id"] == pk


def test_find_with_registry_port(manager):
    pk = manager.add_image(DIGEST, "localhost:5000/app", "v2")
    assert manager.find_image("localhost:5000/app:v2")["id"] == pk


def test_repository_and_tag_are_unique(manager, image):
    with pytest.raises(sqlite3.IntegrityError):
        manager.add_image(DIGEST, "nginx", "1.27")


def test_image_id_is_unique(manager):
    manager.add_image(DIGEST, "a")
    with pytest.raises(sqlite3.IntegrityError):
        manager.add_image(DIGEST, "b")


def test_image_without_session(manager):
    pk = manager.add_image(DIGEST, "busybox")
    assert manager.get_image(pk)["session_id"] is None


def test_image_of_unknown_session_violates_fk(manager):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        manager.add_image(DIGEST, "busybox", session_id=42)


def test_negative_size_is_rejected(manager):
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        manager.add_image(DIGEST, "broken", size_bytes=-5)


def test_labels_round_trip(manager):
    labels = {"org.opencontainers.image.source": "https://example.invalid/app", "tier": "web"}
    pk = manager.add_image(DIGEST, "app", labels=labels)
    assert manager.image_labels(pk) == labels


def test_labels_default_to_empty(manager, image):
    assert manager.image_labels(image) == {}
    with pytest.raises(LookupError):
        manager.image_labels(image + 100)


def test_total_bytes(manager, image):
    manager.add_image(DIGEST, "alpine", size_bytes=7_000_000)
    assert manager.total_image_bytes() == 194_000_000


def test_unused_image_can_be_deleted(manager, image):
    manager.delete_image(image)
    assert manager.get_image(image) is None


def test_image_in_use_cannot_be_deleted(manager, image, container):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        manager.delete_image(image)
    assert manager.get_image(image) is not None


def test_image_can_be_deleted_after_its_container(manager, image, container):
    manager.remove_container(container)
    manager.delete_image(image)
    assert manager.table_counts()["docker_images"] == 0


def test_exactly_one_image_exists(manager, image):
    assert manager.table_counts()["docker_images"] == 1
