-- Clients of the built-in SMART Backend Services authorization server (issue 4).
CREATE TABLE SmartClient (
    client_id     TEXT NOT NULL PRIMARY KEY,
    detail        TEXT NOT NULL -- the registration as JSON
);

-- Client-assertion ids already used, kept until the assertion expires, so a replayed assertion is refused on every replica.
CREATE TABLE ClientAssertion (
    client_id   TEXT    NOT NULL,
    jti         TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL, -- UTC ticks
    CONSTRAINT PK_ClientAssertion PRIMARY KEY (client_id, jti)
);
CREATE INDEX IX_ClientAssertion_Expires ON ClientAssertion (expires_at);
