-- Submission bodies are Brotli-compressed like resource bodies (0 none, 1 Brotli): a PAS request and its response are
-- ~60 KB of repetitive JSON, which is most of a store's size (issue 5, a million authorizations).
ALTER TABLE Submission ADD COLUMN request_compression INTEGER NOT NULL DEFAULT 0;
ALTER TABLE Submission ADD COLUMN response_compression INTEGER NOT NULL DEFAULT 0;
