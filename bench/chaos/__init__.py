"""The fault run ("chaos run"): a bank-test-style workload against the real stack
while the relay, the consumer workers, RabbitMQ and PostgreSQL are crashed and
restarted and duplicate deliveries are injected; then heal, drain and check.

`python -m bench.chaos` (or `make chaos`) runs it; docs/chaos.md explains what is
checked and records the latest results. The pieces:

- options.py        the command line and the run's plan
- infrastructure.py PostgreSQL and RabbitMQ, restarted with their own commands
- processes.py      the stack's processes: started with logs on disk, killed on
                    purpose, and watched for deaths nobody caused
- database.py       the harness's own connections, which expect restarts
- broker.py         the run's vhost URL and the errors a restarting broker raises
- tenants.py        organisations, makers, approvers and debtor accounts
- workload.py       the REST clients and the history of what they were told
- duplicates.py     republishing stored events: duplicate deliveries
- nemesis.py        the fault schedule and the faults themselves
- effect_killer.py  a subprocess that SIGKILLs a worker right after its effect
- ledger_reads.py   the bank-test reader: is the ledger balanced at every read?
- drain.py          waiting for quiescence; queue depths through passive declares
- checker.py        the invariants, read from the database after the drain
- report.py         the readable report and the JSON record
- run.py            the run itself, which leaves PostgreSQL and RabbitMQ running
"""
