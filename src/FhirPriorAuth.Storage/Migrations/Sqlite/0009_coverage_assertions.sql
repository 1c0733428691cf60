-- CRD coverage assertions (issue 8): what the payer told an EHR about an order, under its coverage-assertion-id, so a
-- later $submit carrying the id is linked to it.
CREATE TABLE CoverageAssertion (
    assertion_id  TEXT    NOT NULL PRIMARY KEY,
    hook_instance TEXT    NOT NULL,
    asserted_at   INTEGER NOT NULL, -- UTC ticks
    detail        TEXT    NOT NULL  -- the assertion as JSON
);
