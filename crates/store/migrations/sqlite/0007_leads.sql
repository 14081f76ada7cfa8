-- Campaigns with their channel, UTM values and monthly spend; leads with encrypted contact
-- details, their lifecycle, qualification and attribution; each lead's timeline and tasks.

CREATE TABLE campaigns (
    id            INTEGER PRIMARY KEY,
    practice_id   INTEGER NOT NULL REFERENCES practices(id),
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    utm_source    TEXT NOT NULL DEFAULT '',
    utm_medium    TEXT NOT NULL DEFAULT '',
    utm_campaign  TEXT NOT NULL DEFAULT '',
    archived      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    UNIQUE (practice_id, name)
);

-- Spend per campaign and calendar month ("2026-11"), in cents.
CREATE TABLE campaign_spend (
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id),
    practice_id   INTEGER NOT NULL REFERENCES practices(id),
    month         TEXT NOT NULL,
    amount_cents  INTEGER NOT NULL CHECK (amount_cents >= 0),
    PRIMARY KEY (campaign_id, month)
);

CREATE TABLE leads (
    id                  INTEGER PRIMARY KEY,
    practice_id         INTEGER NOT NULL REFERENCES practices(id),
    first_name_enc      BLOB,
    last_name_enc       BLOB,
    phone_enc           BLOB,
    email_enc           BLOB,
    phone_bidx          TEXT,
    email_bidx          TEXT,
    name_bidx           TEXT,
    message_enc         BLOB,
    preferred_times_enc BLOB,
    service             TEXT NOT NULL DEFAULT '',
    payer               TEXT NOT NULL DEFAULT '',
    sms_consent         INTEGER NOT NULL DEFAULT 0,
    email_consent       INTEGER NOT NULL DEFAULT 0,
    origin              TEXT NOT NULL,
    stage               TEXT NOT NULL DEFAULT 'new',
    lost_reason         TEXT,
    interest            TEXT,
    fit                 TEXT,
    likelihood          TEXT,
    score               INTEGER,
    -- How the lead's attribution was found: website (a visit), tracking_number, front_desk, none.
    attribution         TEXT NOT NULL DEFAULT 'none',
    first_source        TEXT NOT NULL DEFAULT '',
    first_channel       TEXT NOT NULL DEFAULT '',
    first_campaign      TEXT NOT NULL DEFAULT '',
    first_landing       TEXT NOT NULL DEFAULT '',
    last_source         TEXT NOT NULL DEFAULT '',
    last_channel        TEXT NOT NULL DEFAULT '',
    last_campaign       TEXT NOT NULL DEFAULT '',
    last_landing        TEXT NOT NULL DEFAULT '',
    campaign_id         INTEGER REFERENCES campaigns(id),
    visit_id            INTEGER,
    external_key        TEXT,
    merged_into         INTEGER REFERENCES leads(id),
    patient_id          INTEGER REFERENCES patients(id),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    stage_at            INTEGER NOT NULL,
    touched_at          INTEGER NOT NULL,
    first_contact_at    INTEGER,
    qualified_at        INTEGER,
    booked_at           INTEGER,
    converted_at        INTEGER
);
CREATE INDEX leads_created ON leads(practice_id, created_at);
CREATE INDEX leads_phone ON leads(practice_id, phone_bidx);
CREATE INDEX leads_email ON leads(practice_id, email_bidx);
CREATE INDEX leads_name ON leads(practice_id, name_bidx);
CREATE INDEX leads_touched ON leads(practice_id, stage, touched_at);
CREATE UNIQUE INDEX leads_external ON leads(practice_id, external_key) WHERE external_key IS NOT NULL;

-- A lead's timeline: inquiries, calls, texts, emails, notes, stage changes, merges. Bodies are
-- patient data and encrypted.
CREATE TABLE lead_activities (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    lead_id      INTEGER NOT NULL REFERENCES leads(id),
    at           INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL DEFAULT '',
    body_enc     BLOB,
    actor        TEXT NOT NULL
);
CREATE INDEX lead_activities_lead ON lead_activities(practice_id, lead_id, at);

CREATE TABLE lead_tasks (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    lead_id      INTEGER NOT NULL REFERENCES leads(id),
    title_enc    BLOB NOT NULL,
    due_at       INTEGER NOT NULL,
    done_at      INTEGER,
    created_at   INTEGER NOT NULL,
    actor        TEXT NOT NULL
);
CREATE INDEX lead_tasks_due ON lead_tasks(practice_id, done_at, due_at);
CREATE INDEX lead_tasks_lead ON lead_tasks(practice_id, lead_id);

-- What a new patient is worth to the practice, for the value side of lead reports (0: not set).
ALTER TABLE practices ADD COLUMN new_patient_value_cents INTEGER NOT NULL DEFAULT 0;
