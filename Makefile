.PHONY: run test lint

run:  ## the app in embedded mode, with demo data
	./scripts/run.sh

test:  ## everything CI runs
	./scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports

.PHONY: bench
bench:  ## the benchmark: prints a table, writes bench/results/ (docs/benchmark.md)
	./scripts/bootstrap.sh && .venv/bin/python -m bench

.PHONY: chaos
chaos:  ## the fault run (restarts the local PostgreSQL and RabbitMQ)
	./scripts/bootstrap.sh && .venv/bin/python -m bench.chaos
