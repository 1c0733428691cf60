-- Token lookups for a million authorizations (issue 5). Index rows carry their resource version's time, and the code
-- index is ordered by it after the value: a search driven by one token value reads its page in order and stops,
-- instead of fetching and sorting every match. The code index ends with the surrogate id and the per-resource index
-- carries parameter and value, so a driver reads no table rows and a probe (status=requested) is one index seek.
-- Same index names, so the planner hints (INDEXED BY IX_TokenIndex_Resource) still apply.
DROP INDEX IX_TokenIndex_Code;
DROP INDEX IX_TokenIndex_Resource;
ALTER TABLE TokenIndex ADD COLUMN last_updated INTEGER NOT NULL DEFAULT 0;
UPDATE TokenIndex SET last_updated = (SELECT r.last_updated FROM Resource r WHERE r.surrogate_id = TokenIndex.surrogate_id);
CREATE INDEX IX_TokenIndex_Code ON TokenIndex (resource_type, param, code, system, last_updated, surrogate_id);
CREATE INDEX IX_TokenIndex_Resource ON TokenIndex (surrogate_id, resource_type, param, code, system);
