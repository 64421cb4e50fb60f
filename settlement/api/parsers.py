"""The upload's raw body, handed to the view as the bytes that were sent."""

from rest_framework.parsers import BaseParser


class RawBodyParser(BaseParser):
    """Read the body as bytes, whatever its media type.

    Which media types a settlement file may have is the service's rule
    (settlement/receiving.py), so a JSON or a PDF body is refused there with
    the same 415 `unsupported-file-type` as any other, rather than by DRF. The
    body is read through the request's stream, not `request.body`, whose
    DATA_UPLOAD_MAX_MEMORY_SIZE check (MAX_REQUEST_BODY_BYTES) is for JSON
    commands; the size this view takes is bounded before anything reads it
    (api/middleware.py and the view's `request_body_limit`).
    """

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read()
