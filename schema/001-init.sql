-- The first schema of a tenant file.  Times are milliseconds since the
-- epoch (UTC); data columns hold canonical JSON (SPEC §2), hashes 32 hex
-- digits of XXH3-128.

CREATE TABLE meta (
	key	TEXT PRIMARY KEY,
	value	TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO meta (key, value) VALUES
	('canonical_version', '1'),
	('hash_algorithm', 'xxh3-128');

CREATE TABLE sources (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	type		TEXT NOT NULL
			CHECK (type IN ('json', 'scraped', 'manual', 'api')),
	config		TEXT NOT NULL DEFAULT '{}',
	map		TEXT,
	id_field	TEXT,
	hash_ignore	TEXT NOT NULL DEFAULT '[]',
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
);

CREATE TABLE targets (
	id		INTEGER PRIMARY KEY,
	name		TEXT NOT NULL UNIQUE,
	type		TEXT NOT NULL
			CHECK (type IN ('website', 'database', 'api', 'cms', 'file')),
	config		TEXT NOT NULL DEFAULT '{}',
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
);

-- One run of an import, sync or restore, kept as a log.
CREATE TABLE runs (
	id		INTEGER PRIMARY KEY,
	kind		TEXT NOT NULL
			CHECK (kind IN ('import', 'sync', 'restore')),
	source_id	INTEGER REFERENCES sources(id) ON DELETE SET NULL,
	target_id	INTEGER REFERENCES targets(id) ON DELETE SET NULL,
	source_name	TEXT,
	target_name	TEXT,
	started_at	INTEGER NOT NULL,
	finished_at	INTEGER,
	status		TEXT NOT NULL CHECK (status IN
			('running', 'success', 'partial', 'failed', 'interrupted')),
	error		TEXT,
	stats		TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_started ON runs (started_at);

-- seq is the changes.seq of the row's last change; deleted_at marks a
-- tombstone (the row stays so that sync can carry out the delete).
CREATE TABLE source_properties (
	id		INTEGER PRIMARY KEY,
	source_id	INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
	external_id	TEXT NOT NULL,
	data		TEXT NOT NULL,
	hash		TEXT NOT NULL,
	seq		INTEGER NOT NULL,
	deleted_at	INTEGER,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	UNIQUE (source_id, external_id)
);
CREATE INDEX source_properties_seq ON source_properties (source_id, seq);

-- hash is of the data as it is now; synced_hash of the data as sync last
-- wrote or accepted it: they differ after a manual edit on the target.
-- source_hash is the source property's hash that sync last took or
-- accepted: "the source changed" compares against it.
CREATE TABLE target_properties (
	id		INTEGER PRIMARY KEY,
	target_id	INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
	external_id	TEXT NOT NULL,
	data		TEXT NOT NULL,
	hash		TEXT NOT NULL,
	synced_hash	TEXT,
	source_id	INTEGER REFERENCES sources(id) ON DELETE SET NULL,
	source_hash	TEXT,
	has_manual_changes INTEGER NOT NULL DEFAULT 0,
	warning		TEXT,
	seq		INTEGER NOT NULL,
	deleted_at	INTEGER,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	UNIQUE (target_id, external_id)
);
CREATE INDEX target_properties_seq ON target_properties (target_id, seq);
-- No index on source_id: only removing a source looks rows up by it, and
-- an index would cost every sync write (13% of an initial sync).
CREATE INDEX target_properties_manual ON target_properties (target_id)
	WHERE has_manual_changes;

-- A prior version of a property, taken before it is updated, deleted or
-- restored, or by "sm-snapshot take".  data is NULL when the property did
-- not exist (was a tombstone) at that point.  Exactly one of source_id and
-- target_id is set.
CREATE TABLE snapshots (
	id		INTEGER PRIMARY KEY,
	source_id	INTEGER REFERENCES sources(id) ON DELETE CASCADE,
	target_id	INTEGER REFERENCES targets(id) ON DELETE CASCADE,
	property_id	INTEGER NOT NULL,
	external_id	TEXT NOT NULL,
	data		TEXT,
	hash		TEXT,
	-- Spelt with OR, not IN: SQLite 3.40 builds a temporary index for an
	-- IN list on every insert, which made this check a quarter of the
	-- cost of an import (see BENCH.md).
	reason		TEXT NOT NULL
			CHECK (reason = 'update' OR reason = 'delete' OR
			reason = 'restore' OR reason = 'take'),
	label		TEXT,
	run_id		INTEGER REFERENCES runs(id) ON DELETE SET NULL,
	taken_at	INTEGER NOT NULL,
	CHECK ((source_id IS NULL) <> (target_id IS NULL))
);
CREATE INDEX snapshots_source ON snapshots (source_id, external_id, taken_at);
CREATE INDEX snapshots_target ON snapshots (target_id, external_id, taken_at);
CREATE INDEX snapshots_taken ON snapshots (taken_at);

-- The change log: one row per change of a property, numbered tenant-wide.
-- A run's events are printed from it after commit, and sync finds what
-- changed since a source->target pair last ran through it.
CREATE TABLE changes (
	seq		INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id		INTEGER REFERENCES runs(id) ON DELETE SET NULL,
	source_id	INTEGER REFERENCES sources(id) ON DELETE CASCADE,
	target_id	INTEGER REFERENCES targets(id) ON DELETE CASCADE,
	property_id	INTEGER NOT NULL,
	external_id	TEXT NOT NULL,
	op		TEXT NOT NULL CHECK (op = 'create' OR op = 'update' OR
			op = 'delete' OR op = 'conflict' OR op = 'skip' OR
			op = 'restore'),
	hash		TEXT,
	prev_hash	TEXT,
	warning		TEXT,
	at		INTEGER NOT NULL
);
CREATE INDEX changes_run ON changes (run_id);

-- How far each source->target pair has synced, in change sequence numbers
-- of the source's and of the target's properties.
CREATE TABLE sync_state (
	source_id	INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
	target_id	INTEGER NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
	source_seq	INTEGER NOT NULL DEFAULT 0,
	target_seq	INTEGER NOT NULL DEFAULT 0,
	last_run_id	INTEGER REFERENCES runs(id) ON DELETE SET NULL,
	PRIMARY KEY (source_id, target_id)
) WITHOUT ROWID;
