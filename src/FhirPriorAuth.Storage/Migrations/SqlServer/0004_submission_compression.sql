-- Submission bodies are Brotli-compressed like resource bodies (0 none, 1 Brotli): a PAS request and its response are
-- ~60 KB of repetitive JSON, which is most of a store's size (issue 5, a million authorizations).
ALTER TABLE dbo.Submission ADD
    request_compression  TINYINT NOT NULL CONSTRAINT DF_Submission_RequestCompression DEFAULT 0,
    response_compression TINYINT NOT NULL CONSTRAINT DF_Submission_ResponseCompression DEFAULT 0;
GO
