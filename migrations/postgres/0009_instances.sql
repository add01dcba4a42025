-- The live demonstrations of one instance (task and seed), found by an index: an
-- upload is compared with them to refuse a near-copy (one demonstration nudged,
-- `DemonstrationRecord::near_copy_of`), which its fingerprint alone does not find.
CREATE INDEX demonstrations_by_instance ON demonstrations (task, seed, withdrawn);
