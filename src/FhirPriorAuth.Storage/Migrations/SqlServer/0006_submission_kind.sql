-- What each recorded step was (request, update, attachment, ehr, review, auto-decide), for an authorization's decision
-- record (issue 6). Steps stored before this migration were all requests or updates.
ALTER TABLE dbo.Submission ADD kind VARCHAR(16) NOT NULL CONSTRAINT DF_Submission_Kind DEFAULT 'request';
GO
