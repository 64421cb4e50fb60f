"""LOG_FORMAT=json: one JSON object per line, with where in a payment's story it is.

Each line carries the timestamp, level, logger and message and, where known,
the trace and span ids of the current span and the event being applied (its
id, its subject, the payment id for payment events, and the consumer), so a
log search and a trace meet. The default stays the readable plain format.
"""

import logging
import os

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from observability.cause import cause_current

FIELDS = ("trace_id", "span_id", "event_id", "subject", "consumer", "correlation_id")


class ContextFilter(logging.Filter):
    """Put the current span's ids and the current cause's fields on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        cause = cause_current()
        if cause is not None:
            record.correlation_id = cause.correlation_id
            if cause.event_id is not None:
                record.event_id = cause.event_id
                record.subject = cause.subject
                record.consumer = cause.consumer
        return True


class JsonLineFormatter(JsonFormatter):
    """python-json-logger, with our field names and only the fields that are set."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s")
        kwargs.setdefault(
            "rename_fields",
            {"asctime": "timestamp", "levelname": "level", "name": "logger"},
        )
        kwargs.setdefault("timestamp", False)
        super().__init__(*args, **kwargs)

    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                log_record[name] = value


def logging_config(log_format: str, level: str) -> dict:
    """The LOGGING setting: `plain` (the default) or `json`."""
    if log_format not in {"plain", "json"}:
        raise ValueError(f"LOG_FORMAT={log_format!r}: use plain or json")
    handler = {"class": "logging.StreamHandler", "formatter": log_format}
    if log_format == "json":
        handler["filters"] = ["context"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "observability.logs.ContextFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "observability.logs.JsonLineFormatter"},
        },
        "handlers": {"console": handler},
        "root": {"handlers": ["console"], "level": level},
    }


def _leave_logging_alone(**_kwargs) -> None:
    """A setup_logging receiver: its presence tells Celery not to configure any."""


def celery_logging_keep_ours(environ=os.environ) -> None:
    """In JSON mode, keep Celery's worker from adding its own formatted handlers.

    The consumer apps already leave the root logger alone
    (worker_hijack_root_logger=False), but Celery still gives its task logger a
    plain handler of its own; with a setup_logging receiver it configures
    nothing, and every line goes through LOGGING's one JSON handler.
    """
    if environ.get("LOG_FORMAT", "plain") != "json":
        return
    from celery.signals import setup_logging

    setup_logging.connect(_leave_logging_alone, weak=False)
