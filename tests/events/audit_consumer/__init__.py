"""A toy fourth consumer, installed only by the test that proves a new consumer
is one declaration plus its handlers (tests/events/test_consumer_declarations.py)."""
