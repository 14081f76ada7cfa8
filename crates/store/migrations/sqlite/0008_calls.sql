-- Call tracking: tracking numbers (one per source or campaign, or a pool handed out one website visit
-- at a time), the calls to them with their class, inbound texts and opt-outs.

CREATE TABLE tracking_numbers (
    id            INTEGER PRIMARY KEY,
    practice_id   INTEGER NOT NULL REFERENCES practices(id),
    -- E.164. A number rings one practice, whose Twilio auth token signs its webhooks.
    number        TEXT NOT NULL UNIQUE,
    label         TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT '',
    channel       TEXT NOT NULL DEFAULT '',
    campaign_id   INTEGER REFERENCES campaigns(id),
    -- Calls are forwarded to this location's main line (the practice's first location when empty).
    location_id   INTEGER REFERENCES locations(id),
    -- A pool number is shown to one website visit at a time and takes that visit's source.
    pool          INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);
CREATE INDEX tracking_numbers_practice ON tracking_numbers (practice_id);

-- Which pool number a website visitor was shown (the tracker's daily visitor hash, so no cookie),
-- with the visit's attribution, until when. The call finds the visit through it.
CREATE TABLE number_assignments (
    id                  INTEGER PRIMARY KEY,
    tracking_number_id  INTEGER NOT NULL REFERENCES tracking_numbers(id),
    practice_id         INTEGER NOT NULL REFERENCES practices(id),
    site_id             INTEGER NOT NULL,
    visitor_id          INTEGER NOT NULL,
    source              TEXT NOT NULL DEFAULT '',
    channel             TEXT NOT NULL DEFAULT '',
    campaign            TEXT NOT NULL DEFAULT '',
    landing             TEXT NOT NULL DEFAULT '',
    assigned_at         INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL
);
CREATE INDEX number_assignments_number ON number_assignments (tracking_number_id, assigned_at);
CREATE INDEX number_assignments_visitor ON number_assignments (site_id, visitor_id);

CREATE TABLE calls (
    id                  INTEGER PRIMARY KEY,
    practice_id         INTEGER NOT NULL REFERENCES practices(id),
    -- Twilio's CallSid: a retried webhook finds the same call.
    call_sid            TEXT NOT NULL UNIQUE,
    tracking_number_id  INTEGER REFERENCES tracking_numbers(id),
    location_id         INTEGER REFERENCES locations(id),
    caller_enc          BLOB,
    caller_bidx         TEXT,
    status              TEXT NOT NULL,
    dial_status         TEXT,
    answered            INTEGER NOT NULL DEFAULT 0,
    missed              INTEGER NOT NULL DEFAULT 0,
    duration_s          INTEGER NOT NULL DEFAULT 0,
    digit               TEXT,
    source              TEXT NOT NULL DEFAULT '',
    channel             TEXT NOT NULL DEFAULT '',
    campaign            TEXT NOT NULL DEFAULT '',
    landing             TEXT NOT NULL DEFAULT '',
    campaign_id         INTEGER REFERENCES campaigns(id),
    visit_id            INTEGER,
    -- The automatic class when the call ended, and the class the front desk confirmed or corrected.
    auto_class          TEXT,
    class               TEXT,
    class_by            TEXT,
    class_at            INTEGER,
    lead_id             INTEGER REFERENCES leads(id),
    patient_id          INTEGER,
    text_back_id        INTEGER,
    started_at          INTEGER NOT NULL,
    ended_at            INTEGER,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX calls_practice_started ON calls (practice_id, started_at);

CREATE TABLE sms_inbound (
    id                  INTEGER PRIMARY KEY,
    practice_id         INTEGER NOT NULL REFERENCES practices(id),
    message_sid         TEXT NOT NULL UNIQUE,
    tracking_number_id  INTEGER REFERENCES tracking_numbers(id),
    sender_enc          BLOB,
    sender_bidx         TEXT,
    body_enc            BLOB,
    keyword             TEXT NOT NULL,
    received_at         INTEGER NOT NULL
);
CREATE INDEX sms_inbound_practice ON sms_inbound (practice_id, received_at);

-- Numbers that texted STOP: no text goes to them until they text START.
CREATE TABLE sms_opt_outs (
    practice_id   INTEGER NOT NULL REFERENCES practices(id),
    phone_bidx    TEXT NOT NULL,
    phone_enc     BLOB,
    opted_out_at  INTEGER NOT NULL,
    PRIMARY KEY (practice_id, phone_bidx)
);

-- The keypad menu on calls, and the text sent after a missed call from an unknown number (empty: off).
ALTER TABLE practices ADD COLUMN ivr_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE practices ADD COLUMN missed_call_text TEXT NOT NULL DEFAULT '';

-- An inquiry that joined a lead already on file keeps its key too (an import row, a call), so a
-- repeat changes nothing.
ALTER TABLE lead_activities ADD COLUMN external_key TEXT;
CREATE UNIQUE INDEX lead_activities_external_key ON lead_activities (practice_id, external_key);
