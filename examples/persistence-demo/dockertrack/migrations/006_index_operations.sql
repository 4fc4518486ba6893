CREATE INDEX idx_operations_session ON operations(session_id);
CREATE INDEX idx_operations_kind_status ON operations(kind, status);
