"""Versioned event schemas: the public contract between payments and its consumers.

A schema file is never edited once published; a change is a new version beside it.
See docs/lessons/versioned-schemas.md.
"""
