-- Token lookups answered from the indexes alone (issue 5, a million authorizations): the code index carries the
-- surrogate id, so a search's driving criterion reads no table rows; the per-resource index carries the parameter and
-- value, so a probe (status=requested for each candidate) is one index seek instead of reading each of the resource's
-- token rows. Same names, so the planner hints (INDEXED BY IX_TokenIndex_Resource) still apply.
DROP INDEX IX_TokenIndex_Code;
CREATE INDEX IX_TokenIndex_Code ON TokenIndex (resource_type, param, code, system, surrogate_id);
DROP INDEX IX_TokenIndex_Resource;
CREATE INDEX IX_TokenIndex_Resource ON TokenIndex (surrogate_id, resource_type, param, code, system);
