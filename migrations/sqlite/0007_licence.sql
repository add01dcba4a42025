-- The licence each contributor agreed to before their demonstrations were pooled, and
-- when (NULL: not agreed, as for every contributor from before consent was asked).
-- The service refuses uploads from a contributor who has not agreed to the licence it
-- collects under.
ALTER TABLE contributors ADD COLUMN licence TEXT;
ALTER TABLE contributors ADD COLUMN licence_agreed_ms BIGINT;
