-- Token lookups for a million authorizations (issue 5). Index rows carry their resource version's time, and the code
-- index is ordered by it after the value, so a search driven by one token value can read its page in order. (The
-- clustered key, surrogate_id, is in every nonclustered index, so the indexes were already covering.)
ALTER TABLE dbo.TokenIndex ADD last_updated BIGINT NOT NULL CONSTRAINT DF_TokenIndex_LastUpdated DEFAULT 0;
GO
UPDATE t SET last_updated = r.last_updated FROM dbo.TokenIndex t JOIN dbo.Resource r ON r.surrogate_id = t.surrogate_id;
DROP INDEX IX_TokenIndex_Code ON dbo.TokenIndex;
CREATE INDEX IX_TokenIndex_Code ON dbo.TokenIndex (resource_type, param, code, system, last_updated);
GO
