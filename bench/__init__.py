"""The benchmark: the real stack's throughput, latency and drains, beside the floors.

`python -m bench` (or `make bench`) starts the docker-compose.yml process list on
the local PostgreSQL and RabbitMQ, measures, prints a table and writes JSON to
bench/results/. See bench/README.md for the keys and docs/benchmark.md for results.
"""
