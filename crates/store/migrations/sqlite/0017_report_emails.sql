-- Addresses that receive a site's weekly summary by email: Monday morning in the practice's time
-- zone, the week before compared with the week before that. Staff and agency addresses, never a
-- patient's; each message's idempotency key (site, week, address) keeps a week to one email.
CREATE TABLE report_emails (
    site_id   INTEGER NOT NULL REFERENCES sites(id),
    email     TEXT NOT NULL,
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (site_id, email)
);
