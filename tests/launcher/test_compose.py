"""The launcher reads docker-compose.yml as compose would, for what it launches."""

from launcher.compose import compose_services

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
