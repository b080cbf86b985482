"""The library's logger: ``authmatech``, silent unless the application configures logging.

Every record passes the redaction filter, so phone numbers are masked and secrets appear only
as fingerprints whatever the level. The loggers of the HTTP libraries get the stateless
:class:`~authmatech.core.InFlightFilter`: it scrubs only records created while an Authmatech
request is in flight in the same thread or task, and leaves every other record alone.
"""

from __future__ import annotations

import logging

from .core._redact import InFlightFilter, RedactionFilter

__all__ = ["HTTP_LOGGERS", "LIBRARY_LOGGERS", "logger"]

logger = logging.getLogger("authmatech")
if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
    logger.addHandler(logging.NullHandler())

#: Every logger of the library. Each gets its own redaction filter: a filter on
#: ``authmatech`` would not see the records of ``authmatech.fleet``.
LIBRARY_LOGGERS = ("authmatech", "authmatech.fleet", "authmatech.sandbox._server")

#: The loggers that can see a request in flight. A filter on a logger applies only to records
#: created on that very logger (not to its children's), hence every name.
HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "httpx2",
    "httpcore2.connection",
    "httpcore2.http11",
    "httpcore2.http2",
    "httpcore2.proxy",
    "httpcore2.socks",
    "hpack.hpack",
    "hpack.table",
    "h2.connection",
    "aiohttp.client",
    "aiohttp.internal",
    "asyncio",
)


def _install() -> None:
    for name in LIBRARY_LOGGERS:
        library_logger = logging.getLogger(name)
        if not any(isinstance(f, RedactionFilter) for f in library_logger.filters):
            library_logger.addFilter(RedactionFilter())
    for name in HTTP_LOGGERS:
        http_logger = logging.getLogger(name)
        if not any(isinstance(f, InFlightFilter) for f in http_logger.filters):
            http_logger.addFilter(InFlightFilter())


_install()
