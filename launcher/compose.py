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
# Each process that serves /metrics on its own port takes it from a variable of
# its own (`METRICS_PORT: ${RELAY_METRICS_PORT:-9100}`): fixed in containers,
# a free one each when the launcher runs them all on one host.
_METRICS_PORT_VARIABLE = re.compile(r"\$\{(\w+_METRICS_PORT)\b")


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


def service_has_profile(service: dict) -> bool:
    """A service under a compose profile (Prometheus, Grafana: `metrics`) runs only
    when that profile is asked for; the launcher never asks."""
    return bool(service.get("profiles"))


def compose_services(variables: dict[str, str], path: Path = COMPOSE_FILE):
    """Return the application services (those built from this repo), in file order.

    Infrastructure services (postgres, rabbitmq) come from images and are left to
    the machine: the caller points DATABASE_URL and CELERY_BROKER_URL at them.
    """
    spec = yaml.safe_load(path.read_text())
    services = []
    for name, service in spec["services"].items():
        if "build" not in service or service_has_profile(service):
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


def metrics_port_variables(path: Path = COMPOSE_FILE) -> list[str]:
    """The variables that set a service's metrics port, in file order."""
    return list(dict.fromkeys(_METRICS_PORT_VARIABLE.findall(path.read_text())))


def metrics_ports(services) -> dict[str, int]:
    """The metrics port each service was given (services that serve one)."""
    return {
        service.name: int(service.environment["METRICS_PORT"])
        for service in services
        if int(service.environment.get("METRICS_PORT") or 0)
    }
