-- Website tracking (Plausible-compatible intake). No raw IP address or user agent is ever stored:
-- visitors are a keyed hash under a daily salt that is deleted after 48 hours.

CREATE TABLE sites (
    id              INTEGER PRIMARY KEY,
    practice_id     INTEGER NOT NULL REFERENCES practices(id),
    domain          TEXT NOT NULL UNIQUE,
    allowed_params  TEXT NOT NULL DEFAULT '',
    honor_dnt       INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);
CREATE INDEX sites_practice ON sites(practice_id);

CREATE TABLE visitor_salts (
    day         TEXT PRIMARY KEY,
    salt_enc    BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    site_id        INTEGER NOT NULL REFERENCES sites(id),
    practice_id    INTEGER NOT NULL REFERENCES practices(id),
    at             INTEGER NOT NULL,
    visitor_id     INTEGER NOT NULL,
    name           TEXT NOT NULL,
    path           TEXT NOT NULL,
    query          TEXT NOT NULL DEFAULT '',
    referrer_host  TEXT NOT NULL DEFAULT '',
    source         TEXT NOT NULL,
    channel        TEXT NOT NULL,
    campaign       TEXT NOT NULL DEFAULT '',
    device         TEXT NOT NULL,
    browser        TEXT NOT NULL,
    os             TEXT NOT NULL,
    props          TEXT NOT NULL DEFAULT '{}',
    revenue_cents  INTEGER,
    scroll_depth   INTEGER,
    engaged_ms     INTEGER,
    interactive    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX events_site_at ON events(site_id, at);
CREATE INDEX events_site_visitor ON events(site_id, visitor_id, at);

-- What intake refused or filtered, counted per day so reports can show it without keeping the events.
CREATE TABLE event_drops (
    day      TEXT NOT NULL,
    site_id  INTEGER NOT NULL DEFAULT 0,
    reason   TEXT NOT NULL,
    n        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, site_id, reason)
);
