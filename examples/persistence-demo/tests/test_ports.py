"""Published ports, checked against the seeded port registry."""

import sqlite3

import pytest


@pytest.mark.parametrize(
    "port, protocol, service, kind",
    [
        (22, "tcp", "ssh", "system"),
        (5432, "tcp", "postgresql", "registered"),
        (27017, "tcp", "mongodb", "registered"),
        (8081, "tcp", None, "registered"),
    ],
)
def test_registry_lookup(manager, port, protocol, service, kind):
    row = manager.lookup_port(port, protocol)
    assert (row["service"], row["range"]) == (service, kind)


def test_dynamic_ports_have_no_service(manager):
    row = manager.lookup_port(50000, "udp")
    assert (row["range"], row["service"]) == ("dynamic", None)


def test_port_outside_the_registry_is_refused(manager, container):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        manager.publish_port(container, 8080, 70000)


def test_ports_of_a_service(manager):
    rows = manager.ports_of_service("docker")
    assert [(r["port"], r["protocol"]) for r in rows] == [(2375, "tcp"), (2375, "udp")]


def test_publish_and_list(manager, container):
    manager.publish_port(container, 8443, 443)
    manager.publish_port(container, 8080, 80)
    rows = manager.port_bindings_for(container)
    assert [(r["host_port"], r["container_port"], r["service"]) for r in rows] == [
        (8080, 80, "http"),
        (8443, 443, "https"),
    ]


def test_host_port_taken_twice_is_refused(manager, container, session_id, image):
    other = manager.add_container("9" * 64, "web-2", image, session_id)
    manager.publish_port(container, 8080, 80)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        manager.publish_port(other, 8080, 80)


def test_same_host_port_other_protocol_is_fine(manager, container):
    manager.publish_port(container, 5353, 53, "tcp")
    manager.publish_port(container, 5353, 53, "udp")
    assert len(manager.port_bindings_for(container)) == 2


def test_protocol_must_be_registered(manager, container):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        manager.publish_port(container, 9000, 9000, "sctp")


def test_binding_for_missing_container_violates_fk(manager):
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        manager.publish_port(7, 8080, 80)


def test_bindings_go_with_the_container(manager, container):
    manager.publish_port(container, 8080, 80)
    manager.remove_container(container)
    assert manager.table_counts()["port_bindings"] == 0


def test_bindings_go_with_the_session(manager, session_id, container):
    manager.publish_port(container, 8080, 80)
    manager.delete_session(session_id)
    assert manager.table_counts()["port_bindings"] == 0


def test_exactly_one_binding_exists(manager, container):
    manager.publish_port(container, 2222, 22)
    assert manager.table_counts()["port_bindings"] == 1
