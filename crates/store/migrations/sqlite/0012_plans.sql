-- Plans of care, visit notes, drop-off outreach, home exercise programs, patient merges, and the
-- plan named on a patient's coverage.
-- Free text a clinician writes (condition, diagnosis code, goals, notes, summaries) is sealed like
-- the rest of a patient's identity; structured values reports count (statuses, visit counts, body
-- regions, CPT codes and minutes) stay readable so reports need not decrypt.

CREATE TABLE care_plans (
    id                  INTEGER PRIMARY KEY,
    practice_id         INTEGER NOT NULL REFERENCES practices(id),
    patient_id          INTEGER NOT NULL REFERENCES patients(id),
    clinician_id        INTEGER REFERENCES clinicians(id),
    condition_enc       BLOB NOT NULL,
    icd10_enc           BLOB,
    -- Comma-separated body regions (core::care::REGIONS keys).
    areas               TEXT NOT NULL DEFAULT '',
    prescribed_visits   INTEGER NOT NULL CHECK (prescribed_visits BETWEEN 1 AND 100),
    visits_per_week     INTEGER NOT NULL CHECK (visits_per_week BETWEEN 1 AND 7),
    starts_on           TEXT NOT NULL,
    certified_on        TEXT,
    certified_until     TEXT,
    status              TEXT NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'on_hold', 'completed', 'dropped', 'discharged')),
    feeling_better_at   INTEGER,
    -- The day remaining visits were spaced out instead of stopping.
    flexible_from       TEXT,
    closed_on           TEXT,
    summary_enc         BLOB,
    membership_offered  INTEGER NOT NULL DEFAULT 0,
    membership_taken    INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX care_plans_patient ON care_plans (patient_id, starts_on);
CREATE INDEX care_plans_status ON care_plans (practice_id, status);

-- A plan's measurable objectives.
CREATE TABLE care_goals (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    plan_id      INTEGER NOT NULL REFERENCES care_plans(id),
    text_enc     BLOB NOT NULL,
    target_enc   BLOB NOT NULL,
    due_on       TEXT,
    progress     INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    created_at   INTEGER NOT NULL
);
CREATE INDEX care_goals_plan ON care_goals (plan_id);

-- One note per visit. `goals` is JSON [{"goal": id, "progress": 0..100}], `lines` JSON
-- [{"code": "97110", "minutes": 23, "units": 2}]. Once signed the store refuses changes, and these
-- triggers refuse unsigning or changing what was billed; the sealed body may only be re-sealed by
-- key rotation, and `body_digest` (SHA-256 of the signed text) proves it unchanged.
CREATE TABLE visit_notes (
    id              INTEGER PRIMARY KEY,
    practice_id     INTEGER NOT NULL REFERENCES practices(id),
    appointment_id  INTEGER NOT NULL UNIQUE REFERENCES appointments(id),
    plan_id         INTEGER REFERENCES care_plans(id),
    author          TEXT NOT NULL,
    body_enc        BLOB NOT NULL,
    areas           TEXT NOT NULL DEFAULT '',
    goals           TEXT NOT NULL DEFAULT '[]',
    lines           TEXT NOT NULL DEFAULT '[]',
    feeling_better  INTEGER NOT NULL DEFAULT 0,
    signed_at       INTEGER,
    signed_by       TEXT,
    body_digest     TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX visit_notes_plan ON visit_notes (plan_id);
CREATE TRIGGER visit_notes_signed_locked BEFORE UPDATE ON visit_notes
WHEN OLD.signed_at IS NOT NULL AND (
    NEW.signed_at IS NOT OLD.signed_at OR NEW.signed_by IS NOT OLD.signed_by
    OR NEW.body_digest IS NOT OLD.body_digest OR NEW.areas IS NOT OLD.areas
    OR NEW.goals IS NOT OLD.goals OR NEW.lines IS NOT OLD.lines
    OR NEW.feeling_better IS NOT OLD.feeling_better OR NEW.appointment_id IS NOT OLD.appointment_id
    OR NEW.plan_id IS NOT OLD.plan_id)
BEGIN SELECT RAISE(ABORT, 'a signed visit note is locked; add an addendum'); END;
CREATE TRIGGER visit_notes_no_delete BEFORE DELETE ON visit_notes WHEN OLD.signed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a signed visit note is locked; add an addendum'); END;

-- Additions to a signed note: appended, never changed (key rotation may re-seal the body only).
CREATE TABLE note_addenda (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    note_id      INTEGER NOT NULL REFERENCES visit_notes(id),
    author       TEXT NOT NULL,
    body_enc     BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX note_addenda_note ON note_addenda (note_id);
CREATE TRIGGER note_addenda_no_update BEFORE UPDATE ON note_addenda
WHEN NEW.id IS NOT OLD.id OR NEW.note_id IS NOT OLD.note_id OR NEW.author IS NOT OLD.author
    OR NEW.created_at IS NOT OLD.created_at OR NEW.practice_id IS NOT OLD.practice_id
BEGIN SELECT RAISE(ABORT, 'note_addenda is append-only'); END;
CREATE TRIGGER note_addenda_no_delete BEFORE DELETE ON note_addenda
BEGIN SELECT RAISE(ABORT, 'note_addenda is append-only'); END;

-- Drop-off outreach: what was done for a patient at risk, why, and how it turned out.
CREATE TABLE outreach (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    plan_id      INTEGER NOT NULL REFERENCES care_plans(id),
    reasons      TEXT NOT NULL DEFAULT '',
    -- text, email, call or task
    action       TEXT NOT NULL,
    template     TEXT NOT NULL DEFAULT '',
    due_on       TEXT,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    -- rebooked, reached, no_answer, declined, dropped; NULL while open
    outcome      TEXT,
    outcome_by   TEXT,
    outcome_at   INTEGER
);
CREATE INDEX outreach_plan ON outreach (plan_id, created_at);
CREATE INDEX outreach_practice ON outreach (practice_id, created_at);

-- The practice's exercise library.
CREATE TABLE exercises (
    id            INTEGER PRIMARY KEY,
    practice_id   INTEGER NOT NULL REFERENCES practices(id),
    name          TEXT NOT NULL,
    instructions  TEXT NOT NULL DEFAULT '',
    video_url     TEXT NOT NULL DEFAULT '',
    region        TEXT NOT NULL DEFAULT '',
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    UNIQUE (practice_id, name)
);

-- A patient's home exercise program, opened through a secret link found by its SHA-256.
CREATE TABLE hep_programs (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    patient_id   INTEGER NOT NULL REFERENCES patients(id),
    plan_id      INTEGER REFERENCES care_plans(id),
    token_hash   TEXT NOT NULL UNIQUE,
    token_enc    BLOB NOT NULL,
    expires_at   INTEGER NOT NULL,
    sent_at      INTEGER,
    channel      TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX hep_programs_patient ON hep_programs (patient_id, created_at);

CREATE TABLE hep_items (
    program_id     INTEGER NOT NULL REFERENCES hep_programs(id),
    position       INTEGER NOT NULL,
    exercise_id    INTEGER NOT NULL REFERENCES exercises(id),
    sets           INTEGER NOT NULL CHECK (sets BETWEEN 1 AND 20),
    reps           INTEGER NOT NULL CHECK (reps BETWEEN 1 AND 200),
    times_per_week INTEGER NOT NULL CHECK (times_per_week BETWEEN 1 AND 21),
    PRIMARY KEY (program_id, position)
);

CREATE TABLE hep_opens (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    program_id   INTEGER NOT NULL REFERENCES hep_programs(id),
    opened_at    INTEGER NOT NULL
);
CREATE INDEX hep_opens_program ON hep_opens (program_id, opened_at);

-- A duplicate patient merged into another keeps its row (and its audit trail) and points here.
ALTER TABLE patients ADD COLUMN merged_into INTEGER;

-- The plan on the patient's insurance card ("PPO", "Medicare Advantage HMO").
ALTER TABLE patients ADD COLUMN coverage_plan TEXT NOT NULL DEFAULT '';
