-- One row per prior authorization: its current state (detail JSON) plus the columns work queues filter on.
CREATE TABLE dbo.PriorAuthorization (
    authorization_number VARCHAR(32)    NOT NULL,
    pas_version          VARCHAR(16)    NOT NULL,
    status               VARCHAR(16)    NOT NULL,
    expedited            BIT            NOT NULL,
    claim_response_id    VARCHAR(64)    NOT NULL,
    received_at          BIGINT         NOT NULL, -- UTC ticks
    updated_at           BIGINT         NOT NULL,
    row_version          INT            NOT NULL,
    detail               NVARCHAR(MAX)  NOT NULL,
    CONSTRAINT PK_PriorAuthorization PRIMARY KEY CLUSTERED (authorization_number)
);
CREATE INDEX IX_PriorAuthorization_Status ON dbo.PriorAuthorization (status, updated_at);
GO
-- Member and requesting-provider identifiers (system|value), so $inquire and updates find authorizations by index.
CREATE TABLE dbo.AuthorizationKey (
    kind                 VARCHAR(16)    NOT NULL,
    key_value            NVARCHAR(400)  NOT NULL,
    authorization_number VARCHAR(32)    NOT NULL,
    CONSTRAINT PK_AuthorizationKey PRIMARY KEY CLUSTERED (kind, key_value, authorization_number)
);
CREATE INDEX IX_AuthorizationKey_Authorization ON dbo.AuthorizationKey (authorization_number);
GO
-- Every $submit as received and as answered. The unique key makes replays (same identifier and content) idempotent.
CREATE TABLE dbo.Submission (
    submission_id        VARCHAR(64)    NOT NULL,
    authorization_number VARCHAR(32)    NOT NULL,
    idempotency_hash     CHAR(64)       NOT NULL,
    bundle_identifier    NVARCHAR(400)  NULL,
    received_at          BIGINT         NOT NULL,
    request_body         VARBINARY(MAX) NOT NULL,
    response_body        VARBINARY(MAX) NOT NULL,
    warnings             NVARCHAR(MAX)  NULL,
    CONSTRAINT PK_Submission PRIMARY KEY CLUSTERED (submission_id),
    CONSTRAINT UQ_Submission_Idempotency UNIQUE (idempotency_hash)
);
CREATE INDEX IX_Submission_Authorization ON dbo.Submission (authorization_number, received_at);
GO
-- The decision record: which policy, version and rule decided each item of each submission, and why.
CREATE TABLE dbo.ItemDecision (
    submission_id        VARCHAR(64)    NOT NULL,
    authorization_number VARCHAR(32)    NOT NULL,
    item_sequence        INT            NOT NULL,
    review_action        VARCHAR(8)     NOT NULL,
    policy_id            NVARCHAR(128)  NULL,
    policy_version       NVARCHAR(64)   NULL,
    rule_id              NVARCHAR(200)  NOT NULL,
    reason               NVARCHAR(2000) NOT NULL,
    decided_at           BIGINT         NOT NULL,
    CONSTRAINT PK_ItemDecision PRIMARY KEY CLUSTERED (submission_id, item_sequence)
);
CREATE INDEX IX_ItemDecision_Authorization ON dbo.ItemDecision (authorization_number, item_sequence);
