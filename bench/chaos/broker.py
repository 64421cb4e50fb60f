"""The run's vhost on the local RabbitMQ: its URL, and what talking to it raises."""

import amqp
import kombu.exceptions

from launcher.local import RABBIT

# A broker that is restarting shows up as any of these, depending on the moment.
BROKER_ERRORS = (OSError, amqp.exceptions.AMQPError, kombu.exceptions.KombuError)


def vhost_url(vhost: str) -> str:
    return f"{RABBIT}:5672/{vhost}"
