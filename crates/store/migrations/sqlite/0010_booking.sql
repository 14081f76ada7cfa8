-- Payers and credentialing, the practice's booking and deposit policy, the deposit ledger, and
-- what an appointment records about the patient's coverage, attendance and manage link.

-- The practice's payer directory (seeded with the common ones) and its standing with each.
CREATE TABLE payers (
    id                       INTEGER PRIMARY KEY,
    practice_id              INTEGER NOT NULL REFERENCES practices(id),
    name                     TEXT NOT NULL,
    plan_types               TEXT NOT NULL DEFAULT '',
    status                   TEXT NOT NULL DEFAULT 'out_of_network',
    submitted_on             TEXT,
    expected_on              TEXT,
    avg_reimbursement_cents  INTEGER,
    note                     TEXT NOT NULL DEFAULT '',
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    UNIQUE (practice_id, name)
);

-- Other names of a payer ("BCBS", "Blue Cross"), normalised; one name names one payer.
CREATE TABLE payer_aliases (
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    alias_norm   TEXT NOT NULL,
    payer_id     INTEGER NOT NULL REFERENCES payers(id),
    alias        TEXT NOT NULL,
    PRIMARY KEY (practice_id, alias_norm)
);

CREATE TABLE booking_settings (
    practice_id         INTEGER PRIMARY KEY REFERENCES practices(id),
    billing_model       TEXT NOT NULL DEFAULT 'hybrid',
    deposit_enabled     INTEGER NOT NULL DEFAULT 0,
    deposit_cents       INTEGER NOT NULL DEFAULT 2500,
    refundable_hours    INTEGER NOT NULL DEFAULT 24,
    deposit_started_at  INTEGER,
    min_notice_min      INTEGER NOT NULL DEFAULT 120,
    horizon_days        INTEGER NOT NULL DEFAULT 60,
    reminder_hours      TEXT NOT NULL DEFAULT '48,24,2',
    quiet_hours         TEXT NOT NULL DEFAULT '21:00-08:00',
    -- Stripe Checkout for deposits, when the practice connects it (both encrypted).
    stripe_secret_enc   BLOB,
    stripe_webhook_enc  BLOB,
    updated_at          INTEGER NOT NULL
);

-- A visit type's own reminder cadence ("48,24,2"); NULL follows the practice's.
ALTER TABLE appointment_types ADD COLUMN reminder_hours TEXT;
-- Reminders by email rather than text, when the patient agreed to both.
ALTER TABLE patients ADD COLUMN prefers_email INTEGER NOT NULL DEFAULT 0;
ALTER TABLE appointments ADD COLUMN payer_id INTEGER;
ALTER TABLE appointments ADD COLUMN self_pay INTEGER NOT NULL DEFAULT 0;
ALTER TABLE appointments ADD COLUMN manage_token TEXT;
ALTER TABLE appointments ADD COLUMN manage_token_enc BLOB;
-- When the current time was set (booked or last moved): reminders due before it are not sent.
ALTER TABLE appointments ADD COLUMN scheduled_at INTEGER;
ALTER TABLE appointments ADD COLUMN status_at INTEGER;
ALTER TABLE appointments ADD COLUMN deposit_required INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX appointments_manage_token ON appointments (manage_token);

-- One deposit per appointment that needs one, created in the booking's own transaction.
CREATE TABLE deposits (
    id                INTEGER PRIMARY KEY,
    practice_id       INTEGER NOT NULL REFERENCES practices(id),
    appointment_id    INTEGER NOT NULL UNIQUE REFERENCES appointments(id),
    amount_cents      INTEGER NOT NULL,
    status            TEXT NOT NULL DEFAULT 'pending',
    method            TEXT NOT NULL DEFAULT '',
    checkout_session  TEXT UNIQUE,
    -- The payment's reference at the processor (a Stripe PaymentIntent), for refunds.
    payment_ref       TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX deposits_practice ON deposits (practice_id, created_at);

-- Every step of a deposit, with who took it and when. Append-only.
CREATE TABLE deposit_events (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL,
    deposit_id   INTEGER NOT NULL REFERENCES deposits(id),
    at           INTEGER NOT NULL,
    from_status  TEXT NOT NULL,
    to_status    TEXT NOT NULL,
    actor        TEXT NOT NULL,
    user_id      INTEGER,
    method       TEXT NOT NULL DEFAULT '',
    note         TEXT NOT NULL DEFAULT '',
    external_id  TEXT UNIQUE
);
CREATE INDEX deposit_events_deposit ON deposit_events (deposit_id, at);
CREATE TRIGGER deposit_events_no_update BEFORE UPDATE ON deposit_events
BEGIN SELECT RAISE(ABORT, 'deposit_events is append-only'); END;
CREATE TRIGGER deposit_events_no_delete BEFORE DELETE ON deposit_events
BEGIN SELECT RAISE(ABORT, 'deposit_events is append-only'); END;

-- A clinician's subscribable calendar feed: found by the secret's hash, the secret itself kept
-- encrypted so staff can copy the link again. The feed carries no patient names.
CREATE TABLE calendar_feeds (
    clinician_id  INTEGER PRIMARY KEY REFERENCES clinicians(id),
    practice_id   INTEGER NOT NULL REFERENCES practices(id),
    token_hash    TEXT NOT NULL UNIQUE,
    token_enc     BLOB NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Patients who want an earlier time than the one they have: offered freed slots by text, first
-- to accept wins (the slot is taken through the same blocks as any booking).
CREATE TABLE waitlist (
    id              INTEGER PRIMARY KEY,
    practice_id     INTEGER NOT NULL REFERENCES practices(id),
    appointment_id  INTEGER NOT NULL UNIQUE REFERENCES appointments(id),
    status          TEXT NOT NULL DEFAULT 'waiting',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX waitlist_practice ON waitlist (practice_id, status);

CREATE TABLE waitlist_offers (
    id              INTEGER PRIMARY KEY,
    practice_id     INTEGER NOT NULL REFERENCES practices(id),
    waitlist_id     INTEGER NOT NULL REFERENCES waitlist(id),
    clinician_id    INTEGER NOT NULL,
    slot_start      INTEGER NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL DEFAULT 'offered',
    created_at      INTEGER NOT NULL,
    UNIQUE (waitlist_id, clinician_id, slot_start)
);
