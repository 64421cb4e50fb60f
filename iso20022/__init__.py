"""ISO 20022 kit: build pain.001 credit transfers, read camt.053 statements safely.

Framework-free and app-free; docs/iso20022.md walks through it.
"""
