"""How a long-running command learns it should stop: SIGTERM (docker stop, the
launcher) or SIGINT (Ctrl-C) sets an event its loop checks, so the loop
finishes what it holds and the process exits 0."""

import signal
import threading


def stop_on_signals(stop: threading.Event | None = None) -> threading.Event:
    """Return `stop` (a new event if None), set from now on by SIGTERM or SIGINT."""
    stop = stop or threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop
