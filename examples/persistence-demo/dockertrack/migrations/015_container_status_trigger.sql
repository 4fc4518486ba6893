-- A container's status follows its latest lifecycle event.
CREATE TRIGGER trg_event_sets_status
AFTER INSERT ON container_lifecycle_events
BEGIN
    UPDATE docker_containers
       SET status = CASE NEW.event_type
                        WHEN 'create'  THEN 'created'
                        WHEN 'start'   THEN 'running'
                        WHEN 'unpause' THEN 'running'
                        WHEN 'restart' THEN 'running'
                        WHEN 'pause'   THEN 'paused'
                        WHEN 'stop'    THEN 'exited'
                        WHEN 'die'     THEN 'exited'
                        WHEN 'destroy' THEN 'removed'
                        ELSE status
                    END
     WHERE id = NEW.container_pk;
END;
