-- Scheduling: appointment types, clinicians' weekly hours and time off, appointments, and the blocks
-- of time each appointment holds, whose primary key makes double booking impossible in the
-- database itself (on SQLite and PostgreSQL alike), however many requests race for one slot.

CREATE TABLE appointment_types (
    id                 INTEGER PRIMARY KEY,
    practice_id        INTEGER NOT NULL REFERENCES practices(id),
    name               TEXT NOT NULL,
    duration_min       INTEGER NOT NULL CHECK (duration_min > 0),
    buffer_before_min  INTEGER NOT NULL DEFAULT 0,
    buffer_after_min   INTEGER NOT NULL DEFAULT 0,
    cash_price_cents   INTEGER NOT NULL DEFAULT 0,
    deposit_applies    INTEGER NOT NULL DEFAULT 0,
    new_patient        INTEGER NOT NULL DEFAULT 0,
    active             INTEGER NOT NULL DEFAULT 1,
    created_at         INTEGER NOT NULL,
    UNIQUE (practice_id, name)
);

-- A clinician's weekly hours at a location: minutes after local midnight, several per day allowed.
CREATE TABLE clinician_hours (
    id            INTEGER PRIMARY KEY,
    practice_id   INTEGER NOT NULL REFERENCES practices(id),
    clinician_id  INTEGER NOT NULL REFERENCES clinicians(id),
    location_id   INTEGER NOT NULL REFERENCES locations(id),
    weekday       INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    start_min     INTEGER NOT NULL,
    end_min       INTEGER NOT NULL CHECK (end_min > start_min)
);
CREATE INDEX clinician_hours_clinician ON clinician_hours (clinician_id);

CREATE TABLE time_off (
    id            INTEGER PRIMARY KEY,
    practice_id   INTEGER NOT NULL REFERENCES practices(id),
    clinician_id  INTEGER NOT NULL REFERENCES clinicians(id),
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER NOT NULL CHECK (ends_at > starts_at),
    reason        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX time_off_clinician ON time_off (clinician_id, starts_at);

CREATE TABLE appointments (
    id                 INTEGER PRIMARY KEY,
    practice_id        INTEGER NOT NULL REFERENCES practices(id),
    location_id        INTEGER NOT NULL REFERENCES locations(id),
    clinician_id       INTEGER NOT NULL REFERENCES clinicians(id),
    type_id            INTEGER NOT NULL REFERENCES appointment_types(id),
    patient_id         INTEGER,
    lead_id            INTEGER,
    starts_at          INTEGER NOT NULL,
    ends_at            INTEGER NOT NULL,
    buffer_before_min  INTEGER NOT NULL DEFAULT 0,
    buffer_after_min   INTEGER NOT NULL DEFAULT 0,
    status             TEXT NOT NULL DEFAULT 'booked',
    source             TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);
CREATE INDEX appointments_clinician ON appointments (clinician_id, starts_at);
CREATE INDEX appointments_practice ON appointments (practice_id, starts_at);

-- The five-minute blocks a live appointment holds: its time and the buffer after it (the buffer before is
-- checked by the availability engine).
-- Two appointments of one clinician can never hold the same block.
CREATE TABLE appointment_blocks (
    clinician_id    INTEGER NOT NULL,
    block_start     INTEGER NOT NULL,
    appointment_id  INTEGER NOT NULL REFERENCES appointments(id),
    PRIMARY KEY (clinician_id, block_start)
);
CREATE INDEX appointment_blocks_appointment ON appointment_blocks (appointment_id);
