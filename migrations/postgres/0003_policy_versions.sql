-- The crowd's shared policy, version by version: what it was trained on, how it did in
-- the rollouts, and its weights (the project's policy file, fine-tuned).
CREATE TABLE policy_versions (
    id BIGSERIAL PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    -- Verified demonstrations it was trained on, and the last one's id.
    demonstrations BIGINT NOT NULL,
    last_demonstration_id BIGINT NOT NULL,
    -- Success per task (JSON, the suite's order) and its mean over the targets.
    success TEXT NOT NULL,
    mean_success DOUBLE PRECISION NOT NULL,
    train_seconds DOUBLE PRECISION NOT NULL,
    weights BYTEA NOT NULL
);
