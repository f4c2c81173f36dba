"""The gateway: the ASGI application, request ids, the error envelope, query decoding, access
log."""
