"""ConsumerPosition.parked: set where events are parked at the time of migrating."""

from django.db import migrations, models
from django.db.models import Exists, OuterRef


def parked_mark(apps, schema_editor):
    position = apps.get_model("events", "ConsumerPosition")
    inbox = apps.get_model("events", "InboxEntry")
    waiting = inbox.objects.filter(
        consumer=OuterRef("consumer"), subject=OuterRef("subject"), status="parked"
    )
    position.objects.filter(Exists(waiting)).update(parked=True)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0007_inbox_held_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="consumerposition",
            name="parked",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(parked_mark, migrations.RunPython.noop),
    ]
