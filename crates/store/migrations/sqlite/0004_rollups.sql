-- Per-day sums of the website reports for days that have ended, so a year of traffic reads in
-- milliseconds. A day is the practice's local day; `day_start` is its first millisecond. Rollups
-- are derived data: they are rebuilt from events and visits whenever goals, funnels or condition
-- pages change, and deleting them only makes reports slower.
CREATE TABLE rollup_days (
    site_id     INTEGER NOT NULL REFERENCES sites(id),
    day_number  INTEGER NOT NULL,
    day_start   INTEGER NOT NULL,
    day_end     INTEGER NOT NULL,
    computed_at INTEGER NOT NULL,
    PRIMARY KEY (site_id, day_number)
);

-- metric: summary, source, channel, campaign, entry_path, device, browser, os, page, goal,
-- confirm, funnel or condition; key: the breakdown's value, a goal id, "funnel id:step", ...
CREATE TABLE rollups (
    site_id      INTEGER NOT NULL REFERENCES sites(id),
    day_start    INTEGER NOT NULL,
    metric       TEXT NOT NULL,
    key          TEXT NOT NULL,
    visitors     INTEGER NOT NULL DEFAULT 0,
    visits       INTEGER NOT NULL DEFAULT 0,
    pageviews    INTEGER NOT NULL DEFAULT 0,
    bounces      INTEGER NOT NULL DEFAULT 0,
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    converting   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, day_start, metric, key)
);

-- Bumped whenever a practice's goals, funnels or condition pages change: a rollup computed under an
-- older generation is discarded instead of written.
ALTER TABLE sites ADD COLUMN rollup_generation INTEGER NOT NULL DEFAULT 0;
