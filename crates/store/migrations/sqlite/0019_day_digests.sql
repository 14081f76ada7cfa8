-- An ended local day of a site's visits and events in two compact values (see
-- website/digests.rs), written when the day is rolled up: reports with filters no rollup serves
-- read them instead of the day's rows. Days rolled up before have none; they are rolled up again.
CREATE TABLE day_digests (
    site_id    INTEGER NOT NULL REFERENCES sites(id),
    day_start  INTEGER NOT NULL,
    day_end    INTEGER NOT NULL,
    visits     BLOB NOT NULL,
    events     BLOB NOT NULL,
    PRIMARY KEY (site_id, day_start)
);
