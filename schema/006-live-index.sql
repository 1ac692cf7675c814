-- The live rows of an endpoint in id order (issue 13, item 7): the pages
-- of GET /sources/{id}/properties and /targets/{id}/properties walk this
-- index from the last id of the page before and stop after a page, where
-- the unique (endpoint, external_id) index made each request visit every
-- row of the endpoint and sort them; and the property counts of GET
-- /sources and /targets read only this index (deleted_at is in it so that
-- SQLite counts the partial index as covering).  Tombstones stay out.
CREATE INDEX IF NOT EXISTS source_properties_live ON source_properties
	(source_id, deleted_at) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS target_properties_live ON target_properties
	(target_id, deleted_at) WHERE deleted_at IS NULL;
