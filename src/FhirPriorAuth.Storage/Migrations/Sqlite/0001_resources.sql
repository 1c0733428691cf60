-- Every version of every resource, current and history. Search index rows exist only for current, live versions.
CREATE TABLE Resource (
    surrogate_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    last_updated  INTEGER NOT NULL, -- UTC ticks
    is_deleted    INTEGER NOT NULL,
    is_current    INTEGER NOT NULL,
    compression   INTEGER NOT NULL, -- 0 none, 1 Brotli
    body          BLOB    NULL,
    CONSTRAINT UQ_Resource_Version UNIQUE (resource_type, resource_id, version)
);
CREATE UNIQUE INDEX IX_Resource_Current ON Resource (resource_type, resource_id) WHERE is_current = 1;
CREATE INDEX IX_Resource_LastUpdated ON Resource (resource_type, last_updated, surrogate_id) WHERE is_current = 1 AND is_deleted = 0;

CREATE TABLE TokenIndex (
    surrogate_id  INTEGER NOT NULL,
    resource_type TEXT    NOT NULL,
    param         TEXT    NOT NULL,
    system        TEXT    NULL,
    code          TEXT    NOT NULL
);
CREATE INDEX IX_TokenIndex_Code ON TokenIndex (resource_type, param, code, system);
CREATE INDEX IX_TokenIndex_Resource ON TokenIndex (surrogate_id);

CREATE TABLE StringIndex (
    surrogate_id     INTEGER NOT NULL,
    resource_type    TEXT    NOT NULL,
    param            TEXT    NOT NULL,
    value            TEXT    NOT NULL,
    value_normalized TEXT    NOT NULL
);
CREATE INDEX IX_StringIndex_Value ON StringIndex (resource_type, param, value_normalized);
CREATE INDEX IX_StringIndex_Resource ON StringIndex (surrogate_id);

CREATE TABLE ReferenceIndex (
    surrogate_id  INTEGER NOT NULL,
    resource_type TEXT    NOT NULL,
    param         TEXT    NOT NULL,
    target_type   TEXT    NULL,
    target_id     TEXT    NOT NULL
);
CREATE INDEX IX_ReferenceIndex_Target ON ReferenceIndex (resource_type, param, target_id, target_type);
CREATE INDEX IX_ReferenceIndex_Resource ON ReferenceIndex (surrogate_id);

CREATE TABLE DateIndex (
    surrogate_id  INTEGER NOT NULL,
    resource_type TEXT    NOT NULL,
    param         TEXT    NOT NULL,
    start_ticks   INTEGER NOT NULL,
    end_ticks     INTEGER NOT NULL
);
CREATE INDEX IX_DateIndex_Range ON DateIndex (resource_type, param, start_ticks, end_ticks);
CREATE INDEX IX_DateIndex_Resource ON DateIndex (surrogate_id);

-- Makes conditional create race-safe: one row per (type, criteria), claimed by the resource that created it.
CREATE TABLE ConditionalKey (
    resource_type TEXT NOT NULL,
    criteria_hash TEXT NOT NULL, -- SHA-256 of the canonical criteria
    criteria      TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    CONSTRAINT PK_ConditionalKey PRIMARY KEY (resource_type, criteria_hash)
);
