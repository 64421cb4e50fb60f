"""The launcher reads docker-compose.yml as compose would, for processes on one host."""

from launcher.compose import compose_services, metrics_port_variables, metrics_ports
from launcher.local import metrics_variables


def test_each_process_on_one_host_gets_a_metrics_port_of_its_own(tmp_path):
    # given: the compose file's metrics ports, as the launcher fills them
    variables = metrics_variables(tmp_path)

    # when
    services = compose_services(variables)
    ports = metrics_ports(services)

    # then: the relay, the mailer and every worker serve on a distinct
    # loopback port
    assert set(ports) == {"relay", "mailer"} | {
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


COMPOSE = """
x-app: &app
  build: .
  environment: &app-env
    OTEL_TRACES_EXPORTER: ${OTEL_TRACES_EXPORTER:-none}
    OTEL_EXPORTER_OTLP_ENDPOINT: ${OTEL_EXPORTER_OTLP_ENDPOINT:-http://jaeger:4318}
services:
  web:
    <<: *app
    command: ["gunicorn", "config.wsgi"]
    environment:
      <<: *app-env
      OTEL_SERVICE_NAME: web
  profiled:
    <<: *app
    profiles: ["extra"]
    command: ["python", "manage.py", "extra"]
  jaeger:
    image: jaegertracing/all-in-one
    profiles: ["tracing"]
"""


def test_a_service_behind_a_profile_is_not_launched(tmp_path):
    # a built one (the launcher would otherwise start it) and an image one
    path = tmp_path / "docker-compose.yml"
    path.write_text(COMPOSE)

    services = compose_services({}, path=path)

    assert [s.name for s in services] == ["web"]


def test_defaults_apply_unless_set_and_each_service_keeps_its_own_name(tmp_path):
    path = tmp_path / "docker-compose.yml"
    path.write_text(COMPOSE)

    [default] = compose_services({}, path=path)
    [asked] = compose_services(
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}, path=path
    )

    assert default.environment == {
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318",
        "OTEL_SERVICE_NAME": "web",
    }
    # `:-` takes the default for an empty value too, as compose does
    assert asked.environment["OTEL_TRACES_EXPORTER"] == "otlp"
    assert asked.environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"


def test_the_real_compose_file_keeps_tracing_off_and_names_every_process():
    services = compose_services({})

    assert "jaeger" not in {s.name for s in services}
    for service in services:
        assert service.environment["OTEL_TRACES_EXPORTER"] == "none"
        if not service.one_shot:
            assert service.environment["OTEL_SERVICE_NAME"] == service.name
