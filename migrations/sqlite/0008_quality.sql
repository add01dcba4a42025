-- Each demonstration's quality, measured on the replay that verified it
-- (`quality::Quality`, JSON with its version) and its score in [0, 1] apart, for
-- filters. NULL for the rows stored before it was measured, until `amf quality`
-- measures them (and the rows of an older version again).
ALTER TABLE demonstrations ADD COLUMN quality TEXT;
ALTER TABLE demonstrations ADD COLUMN quality_score DOUBLE PRECISION;
ALTER TABLE demonstrations ADD COLUMN quality_version BIGINT;
