-- A demonstration's content is stored once among the live demonstrations only: content
-- one contributor withdrew (or a banned contributor uploaded) may be contributed again
-- by another, as a new row, while the withdrawn row stays in its contributor's list.
-- SQLite cannot drop a column's UNIQUE, so the table is rebuilt (nothing references it).
CREATE TABLE demonstrations_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contributor_id TEXT NOT NULL REFERENCES contributors (id),
    client_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    task TEXT NOT NULL,
    seed BIGINT NOT NULL,
    suite_version BIGINT NOT NULL,
    actions TEXT NOT NULL,
    source TEXT NOT NULL,
    duration_seconds DOUBLE PRECISION NOT NULL,
    recorded_at_ms DOUBLE PRECISION NOT NULL,
    verified_by TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    withdrawn BIGINT NOT NULL DEFAULT 0,
    UNIQUE (contributor_id, client_id)
);
INSERT INTO demonstrations_rebuilt
    (id, contributor_id, client_id, fingerprint, task, seed, suite_version, actions, source,
     duration_seconds, recorded_at_ms, verified_by, received_ms, withdrawn)
SELECT id, contributor_id, client_id, fingerprint, task, seed, suite_version, actions, source,
       duration_seconds, recorded_at_ms, verified_by, received_ms, withdrawn
FROM demonstrations;
DROP TABLE demonstrations;
ALTER TABLE demonstrations_rebuilt RENAME TO demonstrations;
CREATE INDEX demonstrations_by_contributor ON demonstrations (contributor_id);
CREATE INDEX demonstrations_sample ON demonstrations (task, withdrawn, fingerprint);
CREATE UNIQUE INDEX demonstrations_live_content ON demonstrations (fingerprint) WHERE withdrawn = 0;
