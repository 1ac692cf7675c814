-- Targets that are real systems (SPEC §5.8): the outbox of each target
-- with a connection, the hash its real system holds, runs of push and
-- pull.

-- One row per (target, external_id) with a change to deliver: sync
-- writes it in the transaction of its decision, and a later decision on
-- the same record takes the row over (the newest wins).  The version to
-- deliver is not kept here: sm-push reads it from the target row at push
-- time, so three updates of one listing are one put and an older version
-- can never follow a newer.
--   first_seq	the change number that first queued it: the delivery order
--		(oldest first), kept across later decisions
--   seq	the change number of the newest decision: sm-push deletes the
--		row after delivery only when it still holds the seq it read
--		(a sync in between queued a newer change)
--   state	pending, or failed (the target refused it: error says why;
--		sm-push --retry makes it pending again)
--   force	queued by sm-sync --overwrite-manual over a manual change:
--		delivered without comparing with what the target holds
--   sent_hash	what a delivery in progress sent (put: its hash; delete:
--		''), NULL when none: a push killed after the target
--		committed and before sm recorded it leaves it, and the next
--		push compares with it as well as with the delivered hash
CREATE TABLE IF NOT EXISTS outbox (
	target_id	INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
	external_id	TEXT NOT NULL,
	property_id	INTEGER NOT NULL,
	action		TEXT NOT NULL CHECK (action = 'create' OR
			action = 'update' OR action = 'delete'),
	first_seq	INTEGER NOT NULL,
	seq		INTEGER NOT NULL,
	queued_at	INTEGER NOT NULL,
	state		TEXT NOT NULL DEFAULT 'pending'
			CHECK (state = 'pending' OR state = 'failed'),
	error		TEXT,
	attempts	INTEGER NOT NULL DEFAULT 0,
	force		INTEGER NOT NULL DEFAULT 0,
	sent_hash	TEXT,
	PRIMARY KEY (target_id, external_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (target_id, state, first_seq);

-- The hash the real system holds of a target row as last acknowledged
-- (its delivered_hash; no row: nothing delivered, or a delivered delete).
-- A table of its own rather than a column of target_properties: the rows
-- of targets without a connection, and every sync that writes them, pay
-- nothing for it.  Like every migration since 002 it can run again over
-- its own work.
CREATE TABLE IF NOT EXISTS delivered (
	property_id	INTEGER PRIMARY KEY
			REFERENCES target_properties(id) ON DELETE CASCADE,
	hash		TEXT NOT NULL
);

-- Runs of kind push and pull.  The CHECK of a column cannot be altered,
-- and rebuilding runs would fire the ON DELETE SET NULL of every table
-- that names it (foreign keys are on during migrations): the CHECK's text
-- is edited in the schema instead, which SQLite documents for a change
-- that leaves the stored rows valid, and the schema is read again.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (kind IN (''import'', ''sync'', ''restore''))',
	'CHECK (kind IN (''import'', ''sync'', ''restore'', ''push'', ''pull''))')
WHERE type = 'table' AND name = 'runs';
PRAGMA writable_schema = RESET;
