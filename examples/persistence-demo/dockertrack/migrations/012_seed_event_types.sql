INSERT INTO event_types (name, terminal, description) VALUES
    ('create',        0, 'container created'),
    ('start',         0, 'container started'),
    ('pause',         0, 'container paused'),
    ('unpause',       0, 'container resumed'),
    ('restart',       0, 'container restarted'),
    ('health_status', 0, 'health check changed'),
    ('oom',           0, 'out of memory'),
    ('kill',          0, 'signal sent'),
    ('stop',          0, 'container stopped'),
    ('die',           0, 'main process exited'),
    ('destroy',       1, 'container removed');
