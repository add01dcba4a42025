-- Crowd-wide assignments: each visitor's lease on a task and seed to demonstrate. An
-- open lease that has not expired is a demonstration on its way, which the next
-- assignment conditions on; every lease is kept with how it ended.
CREATE TABLE leases (
    id TEXT PRIMARY KEY,
    contributor_id TEXT NOT NULL REFERENCES contributors (id),
    task TEXT NOT NULL,
    seed BIGINT NOT NULL,
    -- 'selector' (assigned) or 'visitor' (the visitor chose the task).
    chosen_by TEXT NOT NULL,
    -- The selector that assigned it ('amf', 'uniform', ...), or 'visitor'.
    selector TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    -- 'open', 'fulfilled' (its demonstration arrived), 'declined', 'superseded' (the
    -- visitor asked again before demonstrating).
    state TEXT NOT NULL,
    demonstration_id BIGINT
);

CREATE INDEX leases_open ON leases (state, expires_ms);
CREATE INDEX leases_by_contributor ON leases (contributor_id, state);
