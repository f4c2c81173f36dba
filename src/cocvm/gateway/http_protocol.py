"""uvicorn's httptools protocol, adjusted to what JD Cloud's clients send and what they expect back.

- Raw UTF-8 in the request target. JD Cloud's contract lets a query carry raw UTF-8 bytes, but the
  llhttp parser inside httptools rejects any byte above 0x7F in a URL. The protocol percent-encodes
  such bytes in the request line before the parser reads them. The query decoder and the signature
  check decode percent-escapes anyway, so the application gets the same values.
- Requests the parser rejects get JD Cloud's JSON envelope (400 `HTTP_BAD_REQUEST`) instead of
  uvicorn's plain-text reply, and a request line too long for the parser's URL limit (64 KiB) gets
  the 414 `HTTP_URI_TOO_LONG` envelope. Shorter lines over 8 KiB reach the application, which
  answers the same 414 itself.

NOTE: a second request pipelined into the same read as the end of the previous one reaches the
parser without the UTF-8 rewrite; clients that pipeline and send raw UTF-8 would get a 400.
"""

from __future__ import annotations

import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cocvm.errors import ApiError, UriTooLong
from cocvm.gateway.envelope import CONTENT_TYPE, REQUEST_ID_HEADER, error_body, new_request_id

logger = logging.getLogger(__name__)

# httptools' URL parser rejects URLs of 65,535 bytes or more, so stay below that with some room.
MAX_PARSED_REQUEST_LINE_BYTES = 65_000

_STATUS_LINES = {400: b"HTTP/1.1 400 Bad Request\r\n", 414: b"HTTP/1.1 414 URI Too Long\r\n"}


class BadHttpRequest(ApiError):
    """The request could not be parsed as HTTP/1.1."""

    http_status = 400
    status = "HTTP_BAD_REQUEST"


class JdCloudHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that accepts raw UTF-8 targets and replies to parse errors in JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_request_line = True
        self._request_line_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._in_request_line:
            prepared = self._prepare_request_line(data)
            if prepared is None:
                return
            data = prepared
        super().data_received(data)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_request_line = True
        self._request_line_bytes = 0

    def send_400_response(self, msg: str) -> None:
        self._send_error(
            BadHttpRequest("Invalid HTTP request: the request line or a header could not be parsed")
        )

    def _prepare_request_line(self, data: bytes) -> bytes | None:
        end = data.find(b"\n")
        line = data if end < 0 else data[:end]
        rest = b"" if end < 0 else data[end:]

        self._request_line_bytes += len(line)
        if self._request_line_bytes > MAX_PARSED_REQUEST_LINE_BYTES:
            self._send_error(UriTooLong())
            return None

        if not line.isascii():
            line = _percent_encode_non_ascii(line)
        if end >= 0:
            self._in_request_line = False
        return line + rest

    def _send_error(self, error: ApiError) -> None:
        request_id = new_request_id()
        body = error_body(request_id, error)
        status_line = _STATUS_LINES.get(error.http_status, b"HTTP/1.1 400 Bad Request\r\n")
        head = b"".join(
            (
                status_line,
                b"content-type: " + CONTENT_TYPE + b"\r\n",
                b"content-length: %d\r\n" % len(body),
                REQUEST_ID_HEADER + b": " + request_id.encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
            )
        )
        logger.warning(
            "Rejected a request before routing: %s",
            error.message,
            extra={"fields": {"requestId": request_id, "status": error.http_status}},
        )
        self.transport.write(head + body)
        self.transport.close()


def _percent_encode_non_ascii(line: bytes) -> bytes:
    return b"".join(b"%%%02X" % byte if byte > 0x7F else bytes((byte,)) for byte in line)
