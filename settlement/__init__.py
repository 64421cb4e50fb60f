"""Settlement files: bank statements received, stored unparsed, announced by an event.

The arrival of something is itself the event. A file lands; receiving it is
one responsibility, processing it another, so each scales on its own and
processing can be replayed. See docs/lessons/transfer-vs-processing.md.
"""
