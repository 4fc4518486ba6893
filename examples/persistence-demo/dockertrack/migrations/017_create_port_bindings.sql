-- Ports a container publishes on the host; the container port must be a registered port.
CREATE TABLE port_bindings (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    container_pk   INTEGER NOT NULL REFERENCES docker_containers(id) ON DELETE CASCADE,
    host_ip        TEXT    NOT NULL DEFAULT '0.0.0.0',
    host_port      INTEGER NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
    container_port INTEGER NOT NULL,
    protocol       TEXT    NOT NULL DEFAULT 'tcp',
    FOREIGN KEY (container_port, protocol) REFERENCES port_registry(port, protocol),
    UNIQUE (host_ip, host_port, protocol)
);
CREATE INDEX idx_port_bindings_container ON port_bindings(container_pk);
