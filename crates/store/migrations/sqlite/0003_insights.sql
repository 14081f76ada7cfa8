-- What the Website section learns beyond visits and goals: heatmaps (clicks, dead and rage clicks,
-- the main call to action's depth), funnels, condition pages, and which page goal confirms an
-- event goal ("clicked Request Appointment" → "reached /thank-you").

-- A page pattern where the click script records, with the selector of its main call to action and
-- that element's last reported depth as a percentage of the page's height.
CREATE TABLE heatmaps (
    id            INTEGER PRIMARY KEY,
    site_id       INTEGER NOT NULL REFERENCES sites(id),
    practice_id   INTEGER NOT NULL REFERENCES practices(id),
    pattern       TEXT NOT NULL,
    cta_selector  TEXT NOT NULL DEFAULT '',
    cta_depth     INTEGER,
    created_at    INTEGER NOT NULL,
    UNIQUE (site_id, pattern)
);

-- One click on a recorded page. No visitor id: a click map needs positions, not people.
CREATE TABLE clicks (
    id           INTEGER PRIMARY KEY,
    site_id      INTEGER NOT NULL REFERENCES sites(id),
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    at           INTEGER NOT NULL,
    path         TEXT NOT NULL,
    width_class  TEXT NOT NULL CHECK (width_class IN ('mobile', 'tablet', 'desktop')),
    x            INTEGER NOT NULL,
    y            INTEGER NOT NULL,
    page_h       INTEGER NOT NULL,
    selector     TEXT NOT NULL,
    tag          TEXT NOT NULL,
    label        TEXT NOT NULL DEFAULT '',
    interactive  INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('click', 'dead', 'rage'))
);
CREATE INDEX clicks_site_path ON clicks(site_id, path, at);

-- Ordered steps (a JSON array of {"kind", "pattern"}) a practice wants visits to go through.
CREATE TABLE funnels (
    id           INTEGER PRIMARY KEY,
    site_id      INTEGER NOT NULL REFERENCES sites(id),
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    name         TEXT NOT NULL,
    steps        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (site_id, name)
);

-- Pages about one condition ("Sciatica": /conditions/sciatica*), ranked by the leads they bring.
CREATE TABLE condition_pages (
    id           INTEGER PRIMARY KEY,
    site_id      INTEGER NOT NULL REFERENCES sites(id),
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    condition    TEXT NOT NULL,
    pattern      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (site_id, pattern)
);

ALTER TABLE goals ADD COLUMN confirmed_by INTEGER REFERENCES goals(id) ON DELETE SET NULL;
