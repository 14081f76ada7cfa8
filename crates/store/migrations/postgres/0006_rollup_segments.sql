-- Rollups per segment: besides the whole site's traffic (segment ''), each day is summed for every
-- value of the one-click filters: 'source=Google', 'channel=paid_search', 'campaign=spring',
-- 'device=mobile'. A report filtered by one of them then reads rollups too. Rollups are derived
-- data, so the table is rebuilt empty and the background task computes it again.
DROP TABLE rollups;
DELETE FROM rollup_days;
CREATE TABLE rollups (
    site_id      BIGINT NOT NULL REFERENCES sites(id),
    segment      TEXT NOT NULL,
    day_start    BIGINT NOT NULL,
    metric       TEXT NOT NULL,
    key          TEXT NOT NULL,
    visitors     BIGINT NOT NULL DEFAULT 0,
    visits       BIGINT NOT NULL DEFAULT 0,
    pageviews    BIGINT NOT NULL DEFAULT 0,
    bounces      BIGINT NOT NULL DEFAULT 0,
    duration_ms  BIGINT NOT NULL DEFAULT 0,
    converting   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, segment, day_start, metric, key)
);
-- Rolling a day up again replaces all its segments at once.
CREATE INDEX rollups_day ON rollups(site_id, day_start);
