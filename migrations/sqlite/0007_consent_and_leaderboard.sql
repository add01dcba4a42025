-- The licence each contributor agreed to before their demonstrations were pooled, and
-- when (NULL: not agreed, as for every contributor from before consent was asked).
-- The service refuses uploads from a contributor who has not agreed to the licence it
-- collects under.
ALTER TABLE contributors ADD COLUMN licence TEXT;
ALTER TABLE contributors ADD COLUMN licence_agreed_ms BIGINT;
-- Whether the contributor chose to be listed by display name on the crowd's
-- leaderboard (nobody is listed without choosing it).
ALTER TABLE contributors ADD COLUMN leaderboard BIGINT NOT NULL DEFAULT 0;
