-- CRD coverage assertions (issue 8): what the payer told an EHR about an order, under its coverage-assertion-id, so a
-- later $submit carrying the id is linked to it.
CREATE TABLE dbo.CoverageAssertion (
    assertion_id  VARCHAR(64)   NOT NULL,
    hook_instance NVARCHAR(200) NOT NULL,
    asserted_at   BIGINT        NOT NULL,
    detail        NVARCHAR(MAX) NOT NULL,
    CONSTRAINT PK_CoverageAssertion PRIMARY KEY CLUSTERED (assertion_id)
);
GO
