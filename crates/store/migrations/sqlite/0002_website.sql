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
    interactive    INTEGER NOT NULL DEFAULT 1,
    visit_id       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_site_at ON events(site_id, at);
CREATE INDEX events_site_name ON events(site_id, name, at);

-- A visit: one visitor's events with no gap over 30 minutes, attributed to how the visit began.
CREATE TABLE visits (
    id             INTEGER PRIMARY KEY,
    site_id        INTEGER NOT NULL REFERENCES sites(id),
    practice_id    INTEGER NOT NULL REFERENCES practices(id),
    visitor_id     INTEGER NOT NULL,
    started_at     INTEGER NOT NULL,
    last_at        INTEGER NOT NULL,
    entry_path     TEXT NOT NULL,
    exit_path      TEXT NOT NULL,
    pageviews      INTEGER NOT NULL DEFAULT 0,
    interactions   INTEGER NOT NULL DEFAULT 0,
    engaged_ms     INTEGER NOT NULL DEFAULT 0,
    referrer_host  TEXT NOT NULL DEFAULT '',
    source         TEXT NOT NULL,
    channel        TEXT NOT NULL,
    campaign       TEXT NOT NULL DEFAULT '',
    device         TEXT NOT NULL,
    browser        TEXT NOT NULL,
    os             TEXT NOT NULL
);
CREATE INDEX visits_site_started ON visits(site_id, started_at);
CREATE INDEX visits_site_visitor ON visits(site_id, visitor_id, last_at);

-- What a practice counts as a conversion: an event name, or reaching a page pattern ("/thank-you*").
CREATE TABLE goals (
    id           INTEGER PRIMARY KEY,
    site_id      INTEGER NOT NULL REFERENCES sites(id),
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('event', 'page')),
    pattern      TEXT NOT NULL,
    category     TEXT NOT NULL CHECK (category IN ('lead_action', 'early_interest')),
    created_at   INTEGER NOT NULL,
    UNIQUE (site_id, kind, pattern)
);

-- What intake refused or filtered, counted per day so reports can show it without keeping the events.
CREATE TABLE event_drops (
    day      TEXT NOT NULL,
    site_id  INTEGER NOT NULL DEFAULT 0,
    reason   TEXT NOT NULL,
    n        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, site_id, reason)
);
