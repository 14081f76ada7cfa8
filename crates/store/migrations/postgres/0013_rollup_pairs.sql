-- Rollups now also keep a segment for every two filters that are not both pages
-- ('channel=paid_search&device=mobile', 'device=mobile&page=/knee-pain') and for the page patterns
-- the site's goals, funnels and condition pages use ('page=/conditions/*'), with '%' and '&' in
-- values escaped. That is many more, mostly small, segments, so a segment's day is now one row: its
-- summary in columns (the previous period sums them in SQL) and every other sum (breakdowns, pages,
-- goals, funnels, conditions) in `sums`, a JSON array of [metric, key, [visitors, visits,
-- pageviews, bounces, duration_ms, converting]] with trailing zeros left out. One row per sum took
-- as much space as the events themselves. Rollups are derived data: the table is rebuilt empty
-- and the background task computes every day again.
DROP TABLE rollups;
DELETE FROM rollup_days;
CREATE TABLE rollups (
    site_id      BIGINT NOT NULL REFERENCES sites(id),
    segment      TEXT NOT NULL,
    day_start    BIGINT NOT NULL,
    visitors     BIGINT NOT NULL DEFAULT 0,
    visits       BIGINT NOT NULL DEFAULT 0,
    pageviews    BIGINT NOT NULL DEFAULT 0,
    bounces      BIGINT NOT NULL DEFAULT 0,
    duration_ms  BIGINT NOT NULL DEFAULT 0,
    sums         TEXT NOT NULL,
    PRIMARY KEY (site_id, segment, day_start)
);
-- Rolling a day up again replaces all its segments at once.
CREATE INDEX rollups_day ON rollups(site_id, day_start);
