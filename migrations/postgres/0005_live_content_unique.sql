-- A demonstration's content is stored once among the live demonstrations only: content
-- one contributor withdrew (or a banned contributor uploaded) may be contributed again
-- by another, as a new row, while the withdrawn row stays in its contributor's list.
ALTER TABLE demonstrations DROP CONSTRAINT demonstrations_fingerprint_key;
CREATE UNIQUE INDEX demonstrations_live_content ON demonstrations (fingerprint) WHERE withdrawn = 0;
