"""The outbox wakes the relay itself: a statement trigger NOTIFYs on insert.

publish() used to send `SELECT pg_notify('outbox', '')` before each outbox
row: a round trip of its own in every transaction that publishes. An AFTER
INSERT trigger FOR EACH STATEMENT sends the same notification from inside the
server, in the same transaction, so it is still delivered only if and when the
transaction commits, once per transaction (PostgreSQL folds identical
notifications of one transaction into one), and also for rows written by any
other path (a replay, a bulk insert). PostgreSQL only; SQLite's relay polls.
"""

from django.db import migrations

from config.db.migration_ops import postgres_only_sql

CREATE = """
CREATE FUNCTION events_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER events_outbox_notify AFTER INSERT ON events_outboxmessage
    FOR EACH STATEMENT EXECUTE FUNCTION events_outbox_notify();
"""
DROP = """
DROP TRIGGER IF EXISTS events_outbox_notify ON events_outboxmessage;
DROP FUNCTION IF EXISTS events_outbox_notify();
"""



class Migration(migrations.Migration):
    dependencies = [("events", "0009_outbox_fillfactor")]

    operations = [postgres_only_sql(CREATE, DROP)]
