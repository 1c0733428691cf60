-- Subscriptions (issue 7). The Subscription resources live in Resource like any other; these tables hold what
-- delivering their notifications needs: per Subscription, its state, the organizations it is notified for, its event
-- counter and a lease (one worker at a time delivers a Subscription's events, in order); and the outbox of events.
CREATE TABLE dbo.SubscriptionDelivery (
    subscription_id VARCHAR(64)    NOT NULL,
    status          VARCHAR(16)    NOT NULL,
    filters         NVARCHAR(MAX)  NOT NULL,
    base_url        NVARCHAR(400)  NOT NULL,
    pas_version     VARCHAR(16)    NOT NULL,
    last_event      BIGINT         NOT NULL,
    delivered       BIGINT         NOT NULL,
    due             BIGINT         NOT NULL,
    lease_owner     NVARCHAR(200)  NULL,
    lease_expires   BIGINT         NULL,
    failing_since   BIGINT         NULL,
    last_error      NVARCHAR(2000) NULL,
    CONSTRAINT PK_SubscriptionDelivery PRIMARY KEY CLUSTERED (subscription_id)
);
CREATE INDEX IX_SubscriptionDelivery_Due ON dbo.SubscriptionDelivery (due);

CREATE TABLE dbo.SubscriptionEvent (
    subscription_id      VARCHAR(64)   NOT NULL,
    event_number         BIGINT        NOT NULL,
    source               VARCHAR(200)  NOT NULL,
    authorization_number VARCHAR(64)   NOT NULL,
    focus                NVARCHAR(200) NOT NULL,
    occurred_at          BIGINT        NOT NULL,
    delivered_at         BIGINT        NULL,
    CONSTRAINT PK_SubscriptionEvent PRIMARY KEY CLUSTERED (subscription_id, event_number)
);
CREATE UNIQUE INDEX UX_SubscriptionEvent_Source ON dbo.SubscriptionEvent (subscription_id, source);
CREATE INDEX IX_SubscriptionEvent_Authorization ON dbo.SubscriptionEvent (authorization_number);
GO
