"""One private RabbitMQ vhost for every bench test: the no-op Celery app
(bench/noop_app.py) keeps the pooled connection of its first broker URL, so a
second vhost in the same session would receive nothing it publishes."""

from tests.events.test_relay_rabbitmq import RABBITMQ, rabbitmq_vhost  # noqa: F401
