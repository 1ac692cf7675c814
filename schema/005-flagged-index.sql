-- Every sync reports each row of the pair it holds back because of a
-- manual edit, those flagged by earlier runs included (SPEC §5.3), and
-- finds them through this index: O(flagged rows), not O(target).  It
-- holds only the flagged rows, with every column the walk reads (SQLite
-- 3.40 counts a partial index as covering only when it also holds the
-- column of its WHERE), so the walk never reads the table.  It replaces
-- the narrower index of 001, which nothing needs besides.
DROP INDEX IF EXISTS target_properties_manual;
CREATE INDEX target_properties_flagged ON target_properties
	(target_id, source_id, external_id, has_manual_changes)
	WHERE has_manual_changes;
