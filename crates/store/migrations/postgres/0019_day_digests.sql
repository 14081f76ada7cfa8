-- An ended local day of a site's visits and events as one compact value (see
-- website/digests.rs), written when the day is rolled up: reports with filters no rollup serves
-- read it instead of the day's rows. Days rolled up before have none; they are rolled up again.
CREATE TABLE day_digests (
    site_id    BIGINT NOT NULL REFERENCES sites(id),
    day_start  BIGINT NOT NULL,
    day_end    BIGINT NOT NULL,
    data       BYTEA NOT NULL,
    PRIMARY KEY (site_id, day_start)
);
-- Varints compress poorly; stored out of line without PostgreSQL's compression, a digest reads
-- back without being decompressed.
ALTER TABLE day_digests ALTER COLUMN data SET STORAGE EXTERNAL;
