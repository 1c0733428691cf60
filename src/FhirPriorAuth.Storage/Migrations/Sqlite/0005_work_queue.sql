-- Background work (issue 6): claimed with a lease, so several workers never do the same item at once and a worker that
-- dies leaves its items to be claimed again once the lease expires.
CREATE TABLE WorkItem (
    work_id       TEXT    NOT NULL PRIMARY KEY,
    kind          TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    not_before    INTEGER NOT NULL, -- UTC ticks
    lease_owner   TEXT    NULL,
    lease_expires INTEGER NULL,     -- UTC ticks
    attempts      INTEGER NOT NULL,
    last_error    TEXT    NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX IX_WorkItem_Due ON WorkItem (not_before);
