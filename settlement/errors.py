"""Why a settlement file is refused or not found; each maps to one problem type.

A missing role or organisation is tenancy's refusal (organisations/errors.py).
"""

from domain.errors import DomainError, Invalid, NotFound


class SettlementFileNotFound(NotFound):
    code = "settlement-file-not-found"
    title = "Settlement file not found"


class EmptySettlementFile(Invalid):
    code = "empty-file"
    title = "The file is empty"


class SettlementFileTooLarge(DomainError):
    kind = "too_large"
    code = "settlement-file-too-large"
    title = "The file is larger than a settlement file may be"


class UnsupportedFileType(DomainError):
    kind = "unsupported_media_type"
    code = "unsupported-file-type"
    title = "A settlement file must be application/xml or text/xml"


# What the landing folder moves to refused/: the file itself is wrong, so
# trying it again can only fail again.
FILE_REFUSALS = (EmptySettlementFile, SettlementFileTooLarge, UnsupportedFileType)
