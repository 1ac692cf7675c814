-- The hashes a push sent and the target has not acknowledged (SPEC
-- §5.8), in a table of their own keyed by the target row, rather than in
-- the outbox row (007's sent_hash, no longer written).  A push notes a
-- batch's hashes before the target sees it: the outbox is keyed by
-- external_id, so that note wrote one random outbox page a record (at a
-- million rows, thousands a batch, each copied to the WAL); keyed by
-- property_id, the rows of a batch mostly follow one another (a first
-- push delivers in the order sync created the rows) and share a few
-- pages.  outbox.attempts, which nothing read, is no longer counted.
--   hashes	every hash sent since the last acknowledgement, separated by
--		' ' ("-" a delete): any of them may be what the target holds
-- A row goes when its record is delivered or fails, and with its target
-- row (as delivered's does).  Like every migration since 002 it can run
-- again over its own work.
CREATE TABLE IF NOT EXISTS sent (
	property_id	INTEGER PRIMARY KEY
			REFERENCES target_properties(id) ON DELETE CASCADE,
	hashes		TEXT NOT NULL
);
INSERT OR IGNORE INTO sent (property_id, hashes)
	SELECT o.property_id, o.sent_hash FROM outbox o
	WHERE o.sent_hash IS NOT NULL AND EXISTS (SELECT 1
	    FROM target_properties p WHERE p.id = o.property_id);
UPDATE outbox SET sent_hash = NULL WHERE sent_hash IS NOT NULL;
