"""Reads a burst asks once: the same question from fifty events, one query.

A consumer's burst applies many events in one transaction (events/bursts.py).
Several handlers ask the database the same thing for every event: who the
organisation's approvers are, say. Inside one burst the answer may be asked
once and shared, as the burst is applied as one unit anyway: with PostgreSQL's
READ COMMITTED each event would otherwise see the memberships as of its own
statement, and one answer for the whole burst is as true as that.

Only for reads of rows no consumer's handler writes (memberships, users): a
handler that changed what it read would find its own change missing. Outside
a burst every call reads afresh.
"""

from collections.abc import Callable, Hashable
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_answers: ContextVar[dict | None] = ContextVar("burst_reads", default=None)


@contextmanager
def reads_shared():
    """Share read_once's answers for the block (a burst's transaction)."""
    token = _answers.set({})
    try:
        yield
    finally:
        _answers.reset(token)


def read_once(key: Hashable, read: Callable[[], T]) -> T:
    """Return read()'s answer, asked once per burst for the same `key`.

    The answer is shared by every event of the burst: return something no
    caller changes (a tuple, not a list).
    """
    answers = _answers.get()
    if answers is None:
        return read()
    try:
        return answers[key]
    except KeyError:
        answers[key] = answer = read()
        return answer
