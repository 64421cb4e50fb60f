from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observability"

    def ready(self):
        # Here, not in wsgi.py or manage.py: every process (web, relay, each
        # worker, a management command) runs django.setup() once, and the web
        # handler loads its middleware only afterwards.
        from observability.tracing import tracing_setup

        tracing_setup()
