-- SQLite's 0007 makes its token indexes covering. SQL Server's already are: TokenIndex is clustered on surrogate_id,
-- which every nonclustered index carries, and a probe reads one resource's rows from the clustered index. Nothing to
-- change; the script exists so both stores share one migration history.
SET NOCOUNT ON;
GO
