"""The one rule for free text in payment commands: what a person sees is what is stored.

Creditor names, references and rejection reasons travel in events into e-mail
headers, ledgers and logs. A control character (Unicode Cc: a newline, NUL, DEL,
C1) lets a name forge a header or a log line; an invisible format character (Cf:
bidi overrides, zero-width spaces, the soft hyphen) makes the text read one way
and compare another. Line and paragraph separators break lines as a newline
does, and a lone surrogate cannot be stored as UTF-8. See docs/api.md.
"""

import unicodedata

REFUSED = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Cs": "a lone surrogate",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def free_text_error(value: str) -> str | None:
    """Return why the text is refused (the first offending character), or None."""
    for position, char in enumerate(value, 1):
        if kind := REFUSED.get(unicodedata.category(char)):
            return (
                f"Must not contain {kind} (U+{ord(char):04X}, character {position}); "
                "use visible characters and plain spaces only."
            )
    return None
