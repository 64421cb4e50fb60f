from django.apps import AppConfig


class DemoBankConfig(AppConfig):
    name = "demo_bank"
    verbose_name = "Simulated bank (demo mode)"
