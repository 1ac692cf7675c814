-- What a restore replaced, beyond the data, so that "sm-snapshot restore
-- --undo RUN" can put a row back exactly as it was: in snapshots of
-- reason 'restore' only, a JSON object of the row's updated_at and
-- deleted_at and, for a target row, its sync bookkeeping (synced_hash,
-- source_id, source_hash, has_manual_changes, warning); NULL in every
-- other snapshot, and in a restore snapshot of a row the restore created
-- (there was no row to keep).  Added without a default, so existing rows
-- are not rewritten and the snapshots of imports and syncs cost nothing
-- more.
ALTER TABLE snapshots ADD COLUMN row_state TEXT;
