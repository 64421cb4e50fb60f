"""New notifications wake the mailer: a statement trigger NOTIFYs on insert.

As the outbox wakes the relay (events/migrations/0010): sent from inside the
server in the inserting transaction, delivered only if and when it commits,
once per transaction. PostgreSQL only; on SQLite the mailer polls.
"""

from django.db import migrations

from config.db.migration_ops import postgres_only_sql

CREATE = """
CREATE FUNCTION notifications_email_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('notification_emails', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER notifications_email_wake AFTER INSERT ON notifications_notification
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_email_wake();
"""
DROP = """
DROP TRIGGER IF EXISTS notifications_email_wake ON notifications_notification;
DROP FUNCTION IF EXISTS notifications_email_wake();
"""



class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_recipient_index_in_inbox_index")]

    operations = [postgres_only_sql(CREATE, DROP)]
