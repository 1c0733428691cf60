-- Every version of every resource, current and history. Search index rows exist only for current, live versions.
CREATE TABLE dbo.Resource (
    surrogate_id  BIGINT IDENTITY(1,1) NOT NULL,
    resource_type VARCHAR(64)     NOT NULL,
    resource_id   VARCHAR(64)     NOT NULL,
    version       INT             NOT NULL,
    last_updated  BIGINT          NOT NULL, -- UTC ticks
    is_deleted    BIT             NOT NULL,
    is_current    BIT             NOT NULL,
    compression   TINYINT         NOT NULL, -- 0 none, 1 Brotli
    body          VARBINARY(MAX)  NULL,
    CONSTRAINT PK_Resource PRIMARY KEY CLUSTERED (surrogate_id),
    CONSTRAINT UQ_Resource_Version UNIQUE (resource_type, resource_id, version)
);
GO
CREATE UNIQUE INDEX IX_Resource_Current ON dbo.Resource (resource_type, resource_id) WHERE is_current = 1;
CREATE INDEX IX_Resource_LastUpdated ON dbo.Resource (resource_type, last_updated, surrogate_id) WHERE is_current = 1 AND is_deleted = 0;
GO
CREATE TABLE dbo.TokenIndex (
    surrogate_id  BIGINT        NOT NULL,
    resource_type VARCHAR(64)   NOT NULL,
    param         VARCHAR(64)   NOT NULL,
    system        NVARCHAR(256) NULL,
    code          NVARCHAR(256) NOT NULL
);
CREATE CLUSTERED INDEX IXC_TokenIndex ON dbo.TokenIndex (surrogate_id);
CREATE INDEX IX_TokenIndex_Code ON dbo.TokenIndex (resource_type, param, code, system);
GO
CREATE TABLE dbo.StringIndex (
    surrogate_id     BIGINT        NOT NULL,
    resource_type    VARCHAR(64)   NOT NULL,
    param            VARCHAR(64)   NOT NULL,
    value            NVARCHAR(256) NOT NULL,
    value_normalized NVARCHAR(256) NOT NULL
);
CREATE CLUSTERED INDEX IXC_StringIndex ON dbo.StringIndex (surrogate_id);
CREATE INDEX IX_StringIndex_Value ON dbo.StringIndex (resource_type, param, value_normalized);
GO
CREATE TABLE dbo.ReferenceIndex (
    surrogate_id  BIGINT        NOT NULL,
    resource_type VARCHAR(64)   NOT NULL,
    param         VARCHAR(64)   NOT NULL,
    target_type   VARCHAR(64)   NULL,
    target_id     NVARCHAR(256) NOT NULL
);
CREATE CLUSTERED INDEX IXC_ReferenceIndex ON dbo.ReferenceIndex (surrogate_id);
CREATE INDEX IX_ReferenceIndex_Target ON dbo.ReferenceIndex (resource_type, param, target_id, target_type);
GO
CREATE TABLE dbo.DateIndex (
    surrogate_id  BIGINT      NOT NULL,
    resource_type VARCHAR(64) NOT NULL,
    param         VARCHAR(64) NOT NULL,
    start_ticks   BIGINT      NOT NULL,
    end_ticks     BIGINT      NOT NULL
);
CREATE CLUSTERED INDEX IXC_DateIndex ON dbo.DateIndex (surrogate_id);
CREATE INDEX IX_DateIndex_Range ON dbo.DateIndex (resource_type, param, start_ticks, end_ticks);
GO
-- Makes conditional create race-safe: one row per (type, criteria), claimed by the resource that created it.
CREATE TABLE dbo.ConditionalKey (
    resource_type VARCHAR(64)   NOT NULL,
    criteria_hash CHAR(64)       NOT NULL, -- SHA-256 of the canonical criteria
    criteria      NVARCHAR(4000) NOT NULL,
    resource_id   VARCHAR(64)    NOT NULL,
    CONSTRAINT PK_ConditionalKey PRIMARY KEY (resource_type, criteria_hash)
);
GO
