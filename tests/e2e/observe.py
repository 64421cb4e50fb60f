"""What the multi-process tests read as an operator's tools would: each process's
/metrics as Prometheus parses it, and the spans a console exporter wrote."""

import json
import time

import requests
from prometheus_client.parser import text_string_to_metric_families


def metric_samples(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a /metrics page, keyed by (name, its labels)."""
    text = requests.get(url, timeout=10).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metric_total(samples: dict, name: str, **labels) -> float:
    """The sum of a metric's samples that carry these labels."""
    wanted = set(labels.items())
    return sum(
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and wanted <= sample_labels
    )


def approvals_answered(web_url: str) -> float:
    """Approvals web answered 200, as its request histogram counts them."""
    return metric_total(
        metric_samples(web_url),
        "payments_http_request_duration_seconds_count",
        route="payment-approve",
        status="200",
    )


def approvals_counted_wait(
    worker_urls: dict[str, str], *, outcome: str, at_least: int, timeout: float
) -> None:
    """Wait until each consumer's worker (name -> /metrics URL) counts `at_least`
    PaymentApproved events with this inbox outcome."""
    deadline = time.monotonic() + timeout
    while True:
        counted = {
            name: metric_total(
                metric_samples(url),
                "payments_consumer_events_total",
                consumer=name,
                event_type="PaymentApproved",
                outcome=outcome,
            )
            for name, url in worker_urls.items()
        }
        if all(count >= at_least for count in counted.values()):
            return
        assert time.monotonic() < deadline, counted
        time.sleep(0.5)


def spans_read(path) -> list[dict]:
    """The spans the console exporter wrote to `path`, one JSON object a line."""
    return [json.loads(line) for line in path.read_text().splitlines() if line]
