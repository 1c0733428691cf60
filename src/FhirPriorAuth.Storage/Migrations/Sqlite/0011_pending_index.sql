-- Search index rows not written yet (ADR 0015): a version's rows as one blob, written with the version in the
-- transaction its caller waits for, and moved into the index tables by the writer's next transaction.
CREATE TABLE PendingIndex (
    surrogate_id  INTEGER NOT NULL PRIMARY KEY, -- the version's, in Resource
    resource_type TEXT    NOT NULL,
    last_updated  INTEGER NOT NULL,
    index_rows    BLOB    NOT NULL  -- PendingIndex.Encode
);
