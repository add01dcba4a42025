-- The crowd's selector conditions on a bounded sample of each task's demonstrations,
-- those with the smallest content fingerprints; this index finds them without reading
-- the pool (and counts a task's demonstrations from the index alone).
CREATE INDEX demonstrations_sample ON demonstrations (task, withdrawn, fingerprint);
