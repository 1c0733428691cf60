-- Subscriptions (issue 7). The Subscription resources live in Resource like any other; these tables hold what
-- delivering their notifications needs: per Subscription, its state, the organizations it is notified for, its event
-- counter and a lease (one worker at a time delivers a Subscription's events, in order); and the outbox of events.
CREATE TABLE SubscriptionDelivery (
    subscription_id TEXT    NOT NULL PRIMARY KEY,
    status          TEXT    NOT NULL, -- requested, active, error or off (deleted), as Subscription.status
    filters         TEXT    NOT NULL, -- organization identifiers it is notified for, one per line ('*': all)
    base_url        TEXT    NOT NULL, -- the FHIR base it was created on (its PAS version and its URLs)
    pas_version     TEXT    NOT NULL,
    last_event      INTEGER NOT NULL, -- events since the Subscription started
    delivered       INTEGER NOT NULL, -- the highest event number delivered
    due             INTEGER NOT NULL, -- UTC ticks: when there is next something to send
    lease_owner     TEXT    NULL,
    lease_expires   INTEGER NULL,     -- UTC ticks
    failing_since   INTEGER NULL,     -- UTC ticks of the first failed attempt since the last success
    last_error      TEXT    NULL
);
CREATE INDEX IX_SubscriptionDelivery_Due ON SubscriptionDelivery (due);

CREATE TABLE SubscriptionEvent (
    subscription_id      TEXT    NOT NULL,
    event_number         INTEGER NOT NULL,
    source               TEXT    NOT NULL, -- the change it reports (the work item of the step), so it is recorded once
    authorization_number TEXT    NOT NULL,
    focus                TEXT    NOT NULL, -- ClaimResponse/id
    occurred_at          INTEGER NOT NULL,
    delivered_at         INTEGER NULL,
    PRIMARY KEY (subscription_id, event_number)
);
CREATE UNIQUE INDEX UX_SubscriptionEvent_Source ON SubscriptionEvent (subscription_id, source);
CREATE INDEX IX_SubscriptionEvent_Authorization ON SubscriptionEvent (authorization_number);
