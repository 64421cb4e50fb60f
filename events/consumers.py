"""Each consumer is declared once, in its app's `consumer.py`; the rest is derived.

A consumer app holds `CONSUMER = Consumer(...)`: its name, the event types and
versions it reads, their handlers, the words the flow view shows for each, its
periodic jobs. `registry()` finds the declarations in the installed apps (the
way Django's admin finds `admin.py`); the default EVENT_CONSUMERS, the worker
entry (events/worker_main.py), the broker topology, the flow view and the
import-linter contract test all read it. Adding a consumer is one declaration
plus its handlers. See docs/adr/0014-consumers-declared-once.md.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import module_has_submodule

from events.inbox import Handlers

DECLARATION_MODULE = "consumer"


@dataclass(frozen=True)
class Periodic:
    """A job the consumer's worker runs on its own timer.

    `every` is seconds, or the name of the setting that holds them (read when
    the worker starts, so the operator's value applies).
    """

    job: Callable[[], object]
    every: float | str

    def seconds(self) -> float:
        if isinstance(self.every, str):
            return float(getattr(settings, self.every))
        return float(self.every)


@dataclass(frozen=True)
class Consumer:
    """One consumer of the payment stream, as its app declares it.

    `consumes` lists the (event type, version) pairs it reads, each with its
    handler in `handlers`; every other event only advances its position. The
    types are what it acts on, so a version of one of them it cannot read is
    a problem, not a skip. `effects` says, for each consumed type, what it
    does, in the words of the flow view. `worker_init` prepares the worker
    process (not a test or a web process) before it consumes.
    """

    name: str
    consumes: frozenset[tuple[str, int]]
    handlers: Handlers
    effects: Mapping[str, str]
    periodic: tuple[Periodic, ...] = ()
    worker_init: Callable[[], None] | None = None
    # The Django app that declared it, filled in by the registry.
    app: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "consumes", frozenset(self.consumes))
        object.__setattr__(self, "periodic", tuple(self.periodic))
        if set(self.handlers) != self.consumes:
            raise ValueError(
                f"consumer {self.name!r}: a handler for each consumed type and "
                f"version, and no other (consumes {sorted(self.consumes)}, "
                f"handlers for {sorted(self.handlers)})"
            )
        if set(self.effects) != self.consumed_types:
            raise ValueError(
                f"consumer {self.name!r}: say the effect of each consumed type "
                f"({sorted(self.consumed_types)}), got {sorted(self.effects)}"
            )

    @property
    def consumed_types(self) -> frozenset[str]:
        return frozenset(event_type for event_type, _ in self.consumes)


def registry() -> list[Consumer]:
    """Return the consumers the installed apps declare, in INSTALLED_APPS order."""
    return list(_declared(tuple(config.name for config in apps.get_app_configs())))


@cache
def _declared(app_names: tuple[str, ...]) -> tuple[Consumer, ...]:
    # Keyed by the installed apps, so a test that installs one more sees it.
    found: dict[str, Consumer] = {}
    for config in apps.get_app_configs():
        if not module_has_submodule(config.module, DECLARATION_MODULE):
            continue
        module = import_module(f"{config.name}.{DECLARATION_MODULE}")
        consumer = getattr(module, "CONSUMER", None)
        if not isinstance(consumer, Consumer):
            raise TypeError(f"{module.__name__} must define CONSUMER = Consumer(...)")
        if consumer.name in found:
            raise ValueError(
                f"two consumers named {consumer.name!r}: "
                f"{found[consumer.name].app} and {config.name}"
            )
        found[consumer.name] = replace(consumer, app=config.name)
    return tuple(found.values())


def consumer_get(name: str) -> Consumer:
    """Return the declared consumer of that name, or raise LookupError."""
    for consumer in registry():
        if consumer.name == name:
            return consumer
    known = ", ".join(consumer.name for consumer in registry())
    raise LookupError(f"no consumer named {name!r}; declared: {known}")


def default_consumer_names() -> list[str]:
    """The consumers when EVENT_CONSUMERS is not set: every declared one."""
    return [consumer.name for consumer in registry()]
