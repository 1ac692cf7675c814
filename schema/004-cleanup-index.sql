-- sm-cleanup looks for tombstones old enough to go and for the snapshots
-- of the runs it deletes.  Without an index it scanned every property
-- once per statement (and, through a correlated subquery, the target
-- properties once per source tombstone: quadratic).  The indexes hold
-- only what cleanup looks for, so an import or a sync that writes live
-- rows, and snapshots without a run, adds no index entry.
CREATE INDEX source_properties_tombstones ON source_properties (deleted_at)
	WHERE deleted_at IS NOT NULL;
CREATE INDEX target_properties_tombstones ON target_properties (deleted_at)
	WHERE deleted_at IS NOT NULL;
-- Snapshots are taken on update and delete only (never on the creates of
-- a first import or sync); the index finds an old run's snapshots when
-- its run is deleted.
CREATE INDEX snapshots_run ON snapshots (run_id) WHERE run_id IS NOT NULL;
