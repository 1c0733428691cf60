-- A submission's suppressed validation findings are the same text for most requests (about 13 KB of "value set ... not
-- available; codes not checked"), which was 40% of a submission row. Each distinct set is stored once; a submission
-- names its set by hash (issue 5, seventh pass). Rows stored before this migration keep their text in warnings.
CREATE TABLE WarningSet (
    warnings_hash TEXT NOT NULL PRIMARY KEY, -- SHA-256 of the text
    warnings      TEXT NOT NULL
);
ALTER TABLE Submission ADD COLUMN warnings_hash TEXT NULL;
