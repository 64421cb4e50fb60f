from django.apps import AppConfig


class LauncherConfig(AppConfig):
    name = "launcher"
    verbose_name = (
        "The launcher: runs the docker-compose.yml process list, embedded or "
        "on the local PostgreSQL and RabbitMQ"
    )
