"""Fixtures for the fault lab: demo mode with its operators, a private broker
(a filesystem broker, or a RabbitMQ virtual host of the test), and browsers
signed in to its page.
"""

import pytest

from tests.events.api.conftest import _fresh_cache, rabbitmq  # noqa: F401 - fixtures
from tests.events.conftest import broker  # noqa: F401 - a fixture
from tests.web.conftest import browser_for  # noqa: F401 - a fixture


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True
    # Named, not left to the environment's default: bob and carol operate.
    settings.DEMO_OPERATORS = ["bob", "carol"]
