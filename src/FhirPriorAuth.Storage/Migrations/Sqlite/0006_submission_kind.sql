-- What each recorded step was (request, update, attachment, ehr, review, auto-decide), for an authorization's decision
-- record (issue 6). Steps stored before this migration were all requests or updates.
ALTER TABLE Submission ADD COLUMN kind TEXT NOT NULL DEFAULT 'request';
