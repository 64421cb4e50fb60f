"""deploy/'s Prometheus rules and Grafana dashboard name only metrics the processes
export, and Prometheus scrapes every process that serves them: they cannot drift
from the code apart."""

import json
import re
from pathlib import Path

import yaml
from django.conf import settings

from api import metrics as web_metrics
from events import metrics as relay_and_consumer_metrics
from events.metrics_collectors import ConsumerCollector, OutboxCollector
from launcher.compose import compose_services, metrics_ports
from notifications import email_metrics

DEPLOY = Path(settings.BASE_DIR) / "deploy"
METRIC_NAME = re.compile(r"\bpayments_[a-z0-9_]+")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


def _families():
    collectors = [
        value
        for module in (web_metrics, relay_and_consumer_metrics, email_metrics)
        for value in vars(module).values()
        if hasattr(value, "describe") and hasattr(value, "_name")
    ]
    collectors += [
        OutboxCollector(),
        ConsumerCollector("ledger"),
        email_metrics.EmailOutboxCollector(),
    ]
    return [family for collector in collectors for family in collector.describe()]


def exported_families() -> set[str]:
    return {family.name for family in _families()}


def exported_names() -> set[str]:
    """Every sample name the web app, the relay, the workers and the mailer can
    serve."""
    return {
        family.name + suffix
        for family in _families()
        for suffix in SUFFIXES[family.type]
    }


def rule_expressions() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    exprs = []
    for path in (DEPLOY / "grafana/dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text())
        exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    return exprs


def test_the_alert_rules_and_the_dashboard_use_only_exported_metrics():
    # given
    exported = exported_names()
    expressions = rule_expressions() + dashboard_expressions()

    # when
    used = {name for expr in expressions for name in METRIC_NAME.findall(expr)}

    # then
    assert used, "no metric found in the rules and dashboards"
    assert used - exported == set()
    # and: every metric has a panel
    on_dashboard = {
        name for expr in dashboard_expressions() for name in METRIC_NAME.findall(expr)
    }
    assert {
        family
        for family in exported_families()
        if not any(name.startswith(family) for name in on_dashboard)
    } == set()


def test_prometheus_scrapes_every_process_that_serves_metrics():
    # given: the services as containers run them
    serving = set(metrics_ports(compose_services({}))) | {"web"}
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())

    # when
    targets = {
        target.split(":")[0]
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }

    # then
    assert targets == serving
    assert config["rule_files"] == ["alerts.yml"]
