-- The port registry: every TCP and UDP port with its IANA range (system, registered,
-- dynamic) and, where Docker users meet it often, its service name. Published container
-- ports are checked against it.
CREATE TABLE port_registry (
    port     INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
    protocol TEXT    NOT NULL CHECK (protocol IN ('tcp', 'udp')),
    range    TEXT    NOT NULL CHECK (range IN ('system', 'registered', 'dynamic')),
    service  TEXT,
    PRIMARY KEY (port, protocol)
) WITHOUT ROWID;
WITH RECURSIVE ports(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM ports WHERE n < 65535),
     protocols(p) AS (VALUES ('tcp'), ('udp'))
INSERT INTO port_registry (port, protocol, range, service)
SELECT n, p,
       CASE WHEN n < 1024 THEN 'system' WHEN n < 49152 THEN 'registered' ELSE 'dynamic' END,
       CASE n WHEN 22 THEN 'ssh' WHEN 53 THEN 'domain' WHEN 80 THEN 'http' WHEN 443 THEN 'https'
              WHEN 2375 THEN 'docker' WHEN 2376 THEN 'docker-s' WHEN 3306 THEN 'mysql'
              WHEN 5432 THEN 'postgresql' WHEN 5672 THEN 'amqp' WHEN 6379 THEN 'redis'
              WHEN 8080 THEN 'http-alt' WHEN 9200 THEN 'elasticsearch' WHEN 27017 THEN 'mongodb'
              ELSE NULL END
FROM ports, protocols;
CREATE INDEX idx_port_registry_service ON port_registry(service) WHERE service IS NOT NULL;
