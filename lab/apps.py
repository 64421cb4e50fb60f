from django.apps import AppConfig


class LabConfig(AppConfig):
    name = "lab"
    verbose_name = (
        "The fault lab: demo-only controls that provoke what brokers, producers "
        "and outages do to consumers"
    )
