-- One row per prior authorization: its current state (detail JSON) plus the columns work queues filter on.
CREATE TABLE PriorAuthorization (
    authorization_number TEXT    NOT NULL PRIMARY KEY,
    pas_version          TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    expedited            INTEGER NOT NULL,
    claim_response_id    TEXT    NOT NULL,
    received_at          INTEGER NOT NULL, -- UTC ticks
    updated_at           INTEGER NOT NULL,
    row_version          INTEGER NOT NULL,
    detail               TEXT    NOT NULL
);
CREATE INDEX IX_PriorAuthorization_Status ON PriorAuthorization (status, updated_at);

-- Member and requesting-provider identifiers (system|value), so $inquire and updates find authorizations by index.
CREATE TABLE AuthorizationKey (
    kind                 TEXT NOT NULL, -- member | provider
    key_value            TEXT NOT NULL,
    authorization_number TEXT NOT NULL,
    CONSTRAINT PK_AuthorizationKey PRIMARY KEY (kind, key_value, authorization_number)
);
CREATE INDEX IX_AuthorizationKey_Authorization ON AuthorizationKey (authorization_number);

-- Every $submit as received and as answered. The unique key makes replays (same identifier and content) idempotent.
CREATE TABLE Submission (
    submission_id        TEXT    NOT NULL PRIMARY KEY,
    authorization_number TEXT    NOT NULL,
    idempotency_hash     TEXT    NOT NULL, -- SHA-256 of version, Bundle.identifier and body hash
    bundle_identifier    TEXT    NULL,
    received_at          INTEGER NOT NULL,
    request_body         BLOB    NOT NULL,
    response_body        BLOB    NOT NULL,
    warnings             TEXT    NULL,
    CONSTRAINT UQ_Submission_Idempotency UNIQUE (idempotency_hash)
);
CREATE INDEX IX_Submission_Authorization ON Submission (authorization_number, received_at);

-- The decision record: which policy, version and rule decided each item of each submission, and why.
CREATE TABLE ItemDecision (
    submission_id        TEXT    NOT NULL,
    authorization_number TEXT    NOT NULL,
    item_sequence        INTEGER NOT NULL,
    review_action        TEXT    NOT NULL,
    policy_id            TEXT    NULL,
    policy_version       TEXT    NULL,
    rule_id              TEXT    NOT NULL,
    reason               TEXT    NOT NULL,
    decided_at           INTEGER NOT NULL,
    CONSTRAINT PK_ItemDecision PRIMARY KEY (submission_id, item_sequence)
);
CREATE INDEX IX_ItemDecision_Authorization ON ItemDecision (authorization_number, item_sequence);
