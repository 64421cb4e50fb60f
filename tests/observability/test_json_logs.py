"""LOG_FORMAT=json: one JSON object per line, naming the trace and the event."""

import io
import json
import logging
import logging.config

from observability.cause import Cause, caused_by
from observability.logs import logging_config
from observability.tracing import tracer


def _lines(log_format: str, log) -> list[str]:
    """Lines `log(logger)` writes through the LOGGING setting's console handler."""
    config = logging_config(log_format, "INFO")
    stream = io.StringIO()
    config["handlers"]["console"]["stream"] = stream
    del config["root"]  # only this test's logger, not the whole process's
    config["loggers"] = {
        "tests.json_logs": {"handlers": ["console"], "propagate": False}
    }
    logging.config.dictConfig(config)
    logger = logging.getLogger("tests.json_logs")
    try:
        log(logger)
    finally:
        logger.handlers.clear()
    return stream.getvalue().splitlines()


def test_a_log_line_inside_an_apply_carries_the_trace_and_the_event(spans):
    # given
    envelope = {"id": "ev-1", "subject": "pay-1", "correlationid": "req-1"}

    def log(logger):
        with (
            tracer().start_as_current_span("ledger apply"),
            caused_by(Cause.of_event("ledger", envelope)),
        ):
            logger.info("booked %s", "pay-1")
        logger.warning("outside")

    # when
    inside, outside = (json.loads(line) for line in _lines("json", log))

    # then: one object per line, with where it happened
    [apply] = spans.get_finished_spans()
    assert inside["message"] == "booked pay-1"
    assert inside["level"] == "INFO"
    assert inside["logger"] == "tests.json_logs"
    assert inside["timestamp"]
    assert inside["trace_id"] == format(apply.context.trace_id, "032x")
    assert inside["span_id"] == format(apply.context.span_id, "016x")
    assert (inside["event_id"], inside["subject"], inside["consumer"]) == (
        "ev-1",
        "pay-1",
        "ledger",
    )
    assert inside["correlation_id"] == "req-1"
    # and: outside both, only what is known
    assert outside["message"] == "outside"
    assert not {"trace_id", "event_id", "consumer"} & outside.keys()


def test_the_default_format_stays_plain():
    # when
    [line] = _lines("plain", lambda logger: logger.info("hello"))

    # then
    assert line.endswith(" INFO tests.json_logs hello")
