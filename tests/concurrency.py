"""Run calls in real threads released together, for the race tests on PostgreSQL."""

import threading

from django.db import connection


def all_at_once(calls) -> list:
    """Run the calls in threads released together; return their results in order.

    Each thread has its own database connection (closed at its end); an error
    in any thread fails the calling test.
    """
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, call))
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    return results
