-- Background work (issue 6): claimed with a lease, so several workers never do the same item at once and a worker that
-- dies leaves its items to be claimed again once the lease expires.
CREATE TABLE dbo.WorkItem (
    work_id       VARCHAR(64)    NOT NULL,
    kind          VARCHAR(64)    NOT NULL,
    subject       NVARCHAR(400)  NOT NULL,
    not_before    BIGINT         NOT NULL,
    lease_owner   NVARCHAR(200)  NULL,
    lease_expires BIGINT         NULL,
    attempts      INT            NOT NULL,
    last_error    NVARCHAR(2000) NULL,
    created_at    BIGINT         NOT NULL,
    CONSTRAINT PK_WorkItem PRIMARY KEY CLUSTERED (work_id)
);
CREATE INDEX IX_WorkItem_Due ON dbo.WorkItem (not_before);
GO
