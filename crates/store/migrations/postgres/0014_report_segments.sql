-- Filter sets no standard rollup segment serves (three filters or more, a page pattern nothing
-- defines), remembered the first time a report asks for one. Every day rolled up from then on
-- includes them, and the background task fills in the days already rolled up, newest first:
-- rolled-up days starting at or after `done_from` include the segment (NULL: none yet; 0: all).
-- `filters` is the set as JSON; `used_at` lets the least recently used go when a site has many.
CREATE TABLE report_segments (
    site_id    BIGINT NOT NULL REFERENCES sites(id),
    segment    TEXT NOT NULL,
    filters    TEXT NOT NULL,
    done_from  BIGINT,
    used_at    BIGINT NOT NULL,
    PRIMARY KEY (site_id, segment)
);
