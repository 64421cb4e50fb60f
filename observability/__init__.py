"""Tracing, correlation and log context: what lets one payment be followed.

Imports nothing of the project, so the messaging kit and every app may use it.
See docs/adr/0018-trace-context-travels.md.
"""
