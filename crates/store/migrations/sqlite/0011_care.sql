-- Plans of care, first part: a patient's coverage and referral, and the visits a payer authorized.

ALTER TABLE patients ADD COLUMN payer_id INTEGER;
ALTER TABLE patients ADD COLUMN self_pay INTEGER NOT NULL DEFAULT 0;
-- physician, self (direct access) or other; empty when not recorded.
ALTER TABLE patients ADD COLUMN referral TEXT NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN referring_physician_enc BLOB;

-- Visits a payer authorized for a patient, and the dates they are good for.
CREATE TABLE authorizations (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    patient_id   INTEGER NOT NULL REFERENCES patients(id),
    payer_id     INTEGER,
    visits       INTEGER NOT NULL CHECK (visits > 0),
    starts_on    TEXT NOT NULL,
    ends_on      TEXT NOT NULL,
    reference    TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL
);
CREATE INDEX authorizations_patient ON authorizations (patient_id, starts_on);
