-- A submission's suppressed validation findings are the same text for most requests (about 13 KB of "value set ... not
-- available; codes not checked"), which was 40% of a submission row. Each distinct set is stored once; a submission
-- names its set by hash (issue 5, seventh pass). Rows stored before this migration keep their text in warnings.
CREATE TABLE dbo.WarningSet (
    warnings_hash CHAR(64)      NOT NULL, -- SHA-256 of the text
    warnings      NVARCHAR(MAX) NOT NULL,
    CONSTRAINT PK_WarningSet PRIMARY KEY CLUSTERED (warnings_hash)
);
GO
ALTER TABLE dbo.Submission ADD warnings_hash CHAR(64) NULL;
GO
