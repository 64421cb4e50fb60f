"""The launcher reads docker-compose.yml as compose would, for processes on one host."""

from launcher.compose import compose_services, metrics_port_variables, metrics_ports
from launcher.local import metrics_variables

COMPOSE = """
services:
  web:
    build: .
    command: ["gunicorn", "config.wsgi"]
  exporter:
    build: .
    profiles: ["metrics"]
    command: ["python", "manage.py", "export"]
  prometheus:
    image: prom/prometheus
    profiles: ["metrics"]
"""


def test_services_under_a_profile_are_not_launched(tmp_path):
    # given
    path = tmp_path / "docker-compose.yml"
    path.write_text(COMPOSE)

    # when
    services = compose_services({}, path)

    # then
    assert [service.name for service in services] == ["web"]


def test_each_process_on_one_host_gets_a_metrics_port_of_its_own(tmp_path):
    # given: the compose file's metrics ports, as the launcher fills them
    variables = metrics_variables(tmp_path)

    # when
    services = compose_services(variables)
    ports = metrics_ports(services)

    # then: the relay and every worker serve on a distinct loopback port
    assert set(ports) == {"relay"} | {
        s.name for s in services if s.name.endswith("-worker")
    }
    assert len(set(ports.values())) == len(ports) == len(metrics_port_variables())
    assert all(
        s.environment["METRICS_HOST"] == "127.0.0.1"
        for s in services
        if s.name in ports
    )
    web = next(s for s in services if s.name == "web")
    assert web.environment["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "web-metrics")


def test_in_containers_every_process_serves_on_the_same_port():
    # when: nothing is filled in, as docker compose runs it
    ports = metrics_ports(compose_services({}))

    # then
    assert set(ports.values()) == {9100}
