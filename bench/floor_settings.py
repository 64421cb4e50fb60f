"""The web floor's settings: the project's own, with the floor's URLconf."""

from config.settings import *  # noqa: F403 - every setting, middleware included

ROOT_URLCONF = "bench.floor_urls"
