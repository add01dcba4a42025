-- The collection service's tables (PostgreSQL). Integers are 64-bit everywhere, so one
-- set of queries serves SQLite and PostgreSQL alike.
CREATE TABLE contributors (
    id TEXT PRIMARY KEY,
    -- SHA-256 of the secret token, hex: the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    display_name TEXT,
    banned BIGINT NOT NULL DEFAULT 0,
    created_ms BIGINT NOT NULL
);

CREATE TABLE demonstrations (
    id BIGSERIAL PRIMARY KEY,
    contributor_id TEXT NOT NULL REFERENCES contributors (id),
    client_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    task TEXT NOT NULL,
    seed BIGINT NOT NULL,
    suite_version BIGINT NOT NULL,
    -- The actions as JSON, one [dx, dy, dz, grip] per control step.
    actions TEXT NOT NULL,
    source TEXT NOT NULL,
    duration_seconds DOUBLE PRECISION NOT NULL,
    recorded_at_ms DOUBLE PRECISION NOT NULL,
    verified_by TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    withdrawn BIGINT NOT NULL DEFAULT 0,
    UNIQUE (contributor_id, client_id)
);

CREATE INDEX demonstrations_by_contributor ON demonstrations (contributor_id);
