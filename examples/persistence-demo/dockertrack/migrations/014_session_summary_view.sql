-- One row per session with its counts, for the dashboard.
CREATE VIEW session_summary AS
SELECT s.id,
       s.name,
       s.status,
       (SELECT COUNT(*) FROM operations o WHERE o.session_id = s.id) AS operations,
       (SELECT COUNT(*) FROM operations o WHERE o.session_id = s.id AND o.status = 'failed') AS failed_operations,
       (SELECT COUNT(*) FROM docker_containers c WHERE c.session_id = s.id) AS containers
FROM sessions s;
