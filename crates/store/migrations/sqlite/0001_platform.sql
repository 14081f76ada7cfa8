-- Stride platform schema (SQLite). Instants are UTC milliseconds (INTEGER); money is integer cents;
-- columns ending in _enc hold AEAD ciphertext (see crypto.rs), columns ending in _bidx keyed blind indexes.
-- Flags are INTEGER 0/1 so one query path serves SQLite and PostgreSQL.

CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('group', 'agency')),
    created_at  INTEGER NOT NULL
);

CREATE TABLE practices (
    id                   INTEGER PRIMARY KEY,
    organization_id      INTEGER NOT NULL REFERENCES organizations(id),
    slug                 TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    website              TEXT,
    idle_timeout_minutes INTEGER NOT NULL DEFAULT 15,
    created_at           INTEGER NOT NULL
);

CREATE TABLE locations (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    name         TEXT NOT NULL,
    address      TEXT NOT NULL DEFAULT '',
    main_phone   TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    hours        TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    UNIQUE (practice_id, name)
);

CREATE TABLE location_holidays (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    location_id  INTEGER NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
    day          TEXT NOT NULL,
    name         TEXT NOT NULL,
    UNIQUE (location_id, day)
);

CREATE TABLE clinicians (
    id           INTEGER PRIMARY KEY,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    location_id  INTEGER REFERENCES locations(id),
    name         TEXT NOT NULL,
    credentials  TEXT NOT NULL DEFAULT '',
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE memberships (
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    practice_id  INTEGER NOT NULL REFERENCES practices(id),
    role         TEXT NOT NULL CHECK (role IN ('owner', 'front_desk', 'clinician', 'marketer')),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, practice_id)
);

CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    practice_id   INTEGER NOT NULL REFERENCES practices(id),
    csrf_token    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    practice_id   INTEGER NOT NULL REFERENCES practices(id),
    name          TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'front_desk', 'clinician', 'marketer')),
    token_hash    TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    created_by    INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);

CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY,
    key_hash  TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key_hash, at);

CREATE TABLE patients (
    id               INTEGER PRIMARY KEY,
    practice_id      INTEGER NOT NULL REFERENCES practices(id),
    first_name_enc   BLOB NOT NULL,
    last_name_enc    BLOB NOT NULL,
    phone_enc        BLOB,
    email_enc        BLOB,
    birth_date_enc   BLOB,
    address_enc      BLOB,
    member_id_enc    BLOB,
    phone_bidx       TEXT,
    email_bidx       TEXT,
    name_bidx        TEXT NOT NULL,
    sms_consent      INTEGER NOT NULL DEFAULT 0,
    email_consent    INTEGER NOT NULL DEFAULT 0,
    status           TEXT NOT NULL DEFAULT 'active',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX patients_phone ON patients(practice_id, phone_bidx);
CREATE INDEX patients_email ON patients(practice_id, email_bidx);
CREATE INDEX patients_name ON patients(practice_id, name_bidx);

-- Append-only: the triggers below refuse every UPDATE and DELETE.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    practice_id  INTEGER,
    actor        TEXT NOT NULL,
    user_id      INTEGER,
    token_id     INTEGER,
    action       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    entity_id    INTEGER,
    ip           TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_practice ON audit_log(practice_id, at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL DEFAULT '{}',
    practice_id      INTEGER,
    idempotency_key  TEXT UNIQUE,
    status           TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    run_at           INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 5,
    lease_until      INTEGER,
    locked_by        TEXT,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX jobs_ready ON jobs(status, run_at);

CREATE TABLE message_providers (
    practice_id       INTEGER PRIMARY KEY REFERENCES practices(id),
    sms_provider      TEXT NOT NULL DEFAULT 'log' CHECK (sms_provider IN ('log', 'twilio')),
    twilio_account_sid TEXT NOT NULL DEFAULT '',
    twilio_auth_token_enc BLOB,
    twilio_from       TEXT NOT NULL DEFAULT '',
    email_provider    TEXT NOT NULL DEFAULT 'log' CHECK (email_provider IN ('log', 'smtp')),
    smtp_host         TEXT NOT NULL DEFAULT '',
    smtp_port         INTEGER NOT NULL DEFAULT 587,
    smtp_username     TEXT NOT NULL DEFAULT '',
    smtp_password_enc BLOB,
    smtp_tls          TEXT NOT NULL DEFAULT 'starttls' CHECK (smtp_tls IN ('starttls', 'tls', 'none')),
    email_from        TEXT NOT NULL DEFAULT '',
    updated_at        INTEGER NOT NULL
);

CREATE TABLE messages (
    id                   INTEGER PRIMARY KEY,
    practice_id          INTEGER NOT NULL REFERENCES practices(id),
    channel              TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    recipient_enc        BLOB NOT NULL,
    subject_enc          BLOB,
    body_enc             BLOB NOT NULL,
    purpose              TEXT NOT NULL DEFAULT '',
    provider             TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL DEFAULT 'queued',
    provider_message_id  TEXT,
    error                TEXT,
    idempotency_key      TEXT UNIQUE,
    created_at           INTEGER NOT NULL,
    sent_at              INTEGER,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX messages_practice ON messages(practice_id, created_at);

-- Instance-wide values, such as the ciphertext that proves the configured key matches this database.
CREATE TABLE instance_settings (
    name   TEXT PRIMARY KEY,
    value  BLOB NOT NULL
);
