"""Django's own database backends with two changes, swapped in by config/settings.py
for the engine that DATABASE_URL names:

- each process counts the commits it makes (observability/db_commits.py);
- on PostgreSQL, the health check before a request or a task asks the socket,
  not the server (docs/adr/0022-commits-counted-health-check-without-a-query.md).
"""
