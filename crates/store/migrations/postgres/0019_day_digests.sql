-- An ended local day of a site's visits and events in two compact values (see
-- website/digests.rs), written when the day is rolled up: reports with filters no rollup serves
-- read them instead of the day's rows. Days rolled up before have none; they are rolled up again.
CREATE TABLE day_digests (
    site_id    BIGINT NOT NULL REFERENCES sites(id),
    day_start  BIGINT NOT NULL,
    day_end    BIGINT NOT NULL,
    visits     BYTEA NOT NULL,
    events     BYTEA NOT NULL,
    PRIMARY KEY (site_id, day_start)
);
-- Varints compress poorly; stored out of line without PostgreSQL's compression, a digest reads
-- back without being decompressed, and a summary reads only the visits.
ALTER TABLE day_digests ALTER COLUMN visits SET STORAGE EXTERNAL;
ALTER TABLE day_digests ALTER COLUMN events SET STORAGE EXTERNAL;
