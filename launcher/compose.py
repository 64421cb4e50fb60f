"""Read the process list from docker-compose.yml, so the file stays the single truth.

The embedded demo and the end-to-end tests launch exactly these commands; only
the environment differs (SQLite and the filesystem broker, or the local
PostgreSQL and RabbitMQ). See docs/adr/0007-one-process-list.md.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings

COMPOSE_FILE = Path(settings.BASE_DIR) / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Service:
    name: str
    command: list[str]
    environment: dict[str, str]
    one_shot: bool  # a job that must finish before the others start (migrate)


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Expand ${NAME} and ${NAME:-default} as docker compose does."""
    return _VARIABLE.sub(
        lambda m: variables.get(m.group(1)) or (m.group(2) or ""), str(value)
    )


def compose_services(variables: dict[str, str], path: Path = COMPOSE_FILE):
    """Return the application services (those built from this repo), in file order.

    Infrastructure services (postgres, rabbitmq) come from images and are left to
    the machine: the caller points DATABASE_URL and CELERY_BROKER_URL at them.
    """
    spec = yaml.safe_load(path.read_text())
    services = []
    for name, service in spec["services"].items():
        # A service behind a profile (Jaeger) is opt-in even under Docker.
        if "build" not in service or service.get("profiles"):
            continue
        services.append(
            Service(
                name=name,
                command=[_interpolate(part, variables) for part in service["command"]],
                environment={
                    key: _interpolate(value, variables)
                    for key, value in (service.get("environment") or {}).items()
                },
                one_shot=service.get("restart") == "no",
            )
        )
    return services
