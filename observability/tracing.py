"""OpenTelemetry setup for this process, configured by the standard OTEL_* variables.

OTEL_TRACES_EXPORTER picks the exporter: `none` (the default here, unlike the
SDK's: the embedded demo and the benchmark pay nothing), `console` (one JSON
span per line, to OTEL_CONSOLE_FILE, appended, or stdout) or `otlp` (OTLP/HTTP
to OTEL_EXPORTER_OTLP_ENDPOINT). OTEL_SERVICE_NAME names the process (web,
relay, ledger-worker...). Spans are batched and flushed when the process exits
(the SDK's atexit hook; the relay and the workers exit normally on SIGTERM).
See docs/adr/0018-trace-context-travels.md.
"""

import os
from typing import IO

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

PROPAGATOR = TraceContextTextMapPropagator()
INSTRUMENTATION = "payments"


class _State:
    # None while tracing is off: the hot paths test this and do nothing else.
    tracer: trace.Tracer | None = None
    provider: TracerProvider | None = None


state = _State()


def tracer() -> trace.Tracer | None:
    return state.tracer


def _console_out(path: str | None) -> IO[str] | None:
    if not path:
        return None
    # Line-buffered and appended: several processes may share one file, each
    # span a single write of one line.
    return open(path, "a", buffering=1, encoding="utf-8")


def exporter_from(environ) -> object | None:
    """The span exporter OTEL_TRACES_EXPORTER names; None for `none` or unset."""
    name = environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower() or "none"
    if name == "none":
        return None
    if name == "console":
        out = _console_out(environ.get("OTEL_CONSOLE_FILE"))
        return ConsoleSpanExporter(
            formatter=lambda span: span.to_json(indent=None) + os.linesep,
            **({"out": out} if out is not None else {}),
        )
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        return OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_* itself
    raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: use none, console or otlp")


def tracer_provider_use(provider: TracerProvider | None) -> None:
    """Make `provider` this module's (None turns tracing off); tests swap it."""
    state.provider = provider
    state.tracer = provider.get_tracer(INSTRUMENTATION) if provider else None


def tracing_setup(environ=os.environ) -> TracerProvider | None:
    """Configure tracing once per process from the environment; None when off."""
    if state.provider is not None:
        return state.provider
    exporter = exporter_from(environ)
    if exporter is None:
        return None
    provider = TracerProvider(resource=Resource.create())  # OTEL_SERVICE_NAME
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    tracer_provider_use(provider)
    _django_instrument(provider)
    return provider


def _django_instrument(provider: TracerProvider) -> None:
    # Adds its middleware to settings.MIDDLEWARE: the REST request starts the
    # trace. Once per process (tracing_setup returns early the second time).
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    instrumentor = DjangoInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


def tracing_flush() -> None:
    """Export what is batched now (a worker stopping; the atexit hook does it too)."""
    if state.provider is not None:
        state.provider.force_flush()


def context_from(*carriers):
    """The trace context of the first carrier holding a valid traceparent, or None."""
    for carrier in carriers:
        if not carrier or not carrier.get("traceparent"):
            continue
        context = PROPAGATOR.extract(carrier)
        if trace.get_current_span(context).get_span_context().is_valid:
            return context
    return None


def context_fields(span=None) -> dict[str, str]:
    """{"traceparent": ..., "tracestate": ... if any} of `span` (or the current one).

    Empty when there is no valid span, so untraced work leaves no trace fields.
    """
    span = span if span is not None else trace.get_current_span()
    if not span.get_span_context().is_valid:
        return {}
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id in a W3C traceparent (`00-<trace id>-<span id>-<flags>`)."""
    if not isinstance(traceparent, str):
        return None
    parts = traceparent.split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or parts[1] == "0" * 32:
        return None
    return parts[1]
