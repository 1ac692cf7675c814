-- Sync finds what changed since a pair last ran by a range of the change
-- log (its primary key) instead of an index on the properties' seq: the
-- two seq indexes cost every write, and a random page each per update of
-- an incremental run.  The invariant that makes this possible: every
-- property's seq names a change row, and that row is kept (sm-cleanup
-- spares the latest change of every property).

-- The change this one followed (the property's seq before it), so that an
-- import can put a property back to the version, and number, it had.
ALTER TABLE changes ADD COLUMN prev_seq INTEGER;

-- Rows whose latest change row is gone (an older sm-cleanup deleted it, or
-- a duplicate key put a row back) get one again, under their own seq.
INSERT INTO changes (seq, run_id, source_id, target_id, property_id,
	external_id, op, hash, at)
SELECT p.seq, NULL, p.source_id, NULL, p.id, p.external_id,
	iif(p.deleted_at IS NULL, 'update', 'delete'),
	iif(p.deleted_at IS NULL, p.hash, NULL), p.updated_at
FROM source_properties p
WHERE NOT EXISTS (SELECT 1 FROM changes c WHERE c.seq = p.seq);
INSERT INTO changes (seq, run_id, source_id, target_id, property_id,
	external_id, op, hash, at)
SELECT p.seq, NULL, NULL, p.target_id, p.id, p.external_id,
	iif(p.deleted_at IS NULL, 'update', 'delete'),
	iif(p.deleted_at IS NULL, p.hash, NULL), p.updated_at
FROM target_properties p
WHERE NOT EXISTS (SELECT 1 FROM changes c WHERE c.seq = p.seq);

DROP INDEX source_properties_seq;
DROP INDEX target_properties_seq;
-- A run's events are its range of change numbers (it holds the write lock
-- from its first to its last), a range of the primary key: no index on
-- run_id to keep up on every change.
DROP INDEX changes_run;

-- A snapshot belongs to a source or to a target: each index holds only
-- its own side instead of a NULL entry for every snapshot of the other.
DROP INDEX snapshots_source;
DROP INDEX snapshots_target;
CREATE INDEX snapshots_source ON snapshots (source_id, external_id, taken_at)
	WHERE source_id IS NOT NULL;
CREATE INDEX snapshots_target ON snapshots (target_id, external_id, taken_at)
	WHERE target_id IS NOT NULL;
