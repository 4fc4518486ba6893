-- Operations learnt to report how long they took and why they failed.
ALTER TABLE operations ADD COLUMN duration_ms INTEGER CHECK (duration_ms IS NULL OR duration_ms >= 0);
ALTER TABLE operations ADD COLUMN error TEXT;
