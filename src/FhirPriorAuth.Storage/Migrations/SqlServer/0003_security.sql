-- Clients of the built-in SMART Backend Services authorization server (issue 4).
CREATE TABLE dbo.SmartClient (
    client_id     NVARCHAR(200) NOT NULL,
    detail        NVARCHAR(MAX) NOT NULL, -- the registration as JSON
    CONSTRAINT PK_SmartClient PRIMARY KEY CLUSTERED (client_id)
);
GO
-- Client-assertion ids already used, kept until the assertion expires, so a replayed assertion is refused on every replica.
CREATE TABLE dbo.ClientAssertion (
    client_id   NVARCHAR(200) NOT NULL,
    jti         NVARCHAR(200) NOT NULL,
    expires_at  BIGINT        NOT NULL, -- UTC ticks
    CONSTRAINT PK_ClientAssertion PRIMARY KEY CLUSTERED (client_id, jti)
);
CREATE INDEX IX_ClientAssertion_Expires ON dbo.ClientAssertion (expires_at);
GO
