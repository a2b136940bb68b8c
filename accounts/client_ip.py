"""The client's address: one rule for the login lockout, the rate limits and the access audit.

django-ipware reads it. With RST_TRUSTED_PROXIES = 0 (the default) the address is the
connection's own (REMOTE_ADDR) and forwarding headers are ignored: anyone can write them.
Behind N reverse proxies, each appends the address it saw to X-Forwarded-For, so the
client is the N-th address from the right; whatever a client wrote further left is
ignored. A missing or malformed header never raises: the connection's address is used.
"""

import ipaddress
import logging

from django.conf import settings
from ipware import get_client_ip

logger = logging.getLogger(__name__)

# Stands in when not even the connection has a usable address (a misconfigured Unix
# socket): every such request shares one counter, which fails safe for rate limits.
UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 - a placeholder value, never bound
FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"


def client_ip(request) -> str:
    """The client's IP address as a string; never raises, never empty."""
    proxies = settings.RST_TRUSTED_PROXIES
    address = None
    if proxies:
        try:
            # ipware counts the proxies listed in the header, which is one fewer than
            # the proxies in front of us: the last one is the connection itself.
            address, _ = get_client_ip(
                request,
                proxy_order="left-most",
                proxy_count=proxies - 1,
                request_header_order=(FORWARDED_FOR,),
                strict=False,
            )
        except ValueError:  # a header ipware cannot read
            address = None
        if address is None and request.META.get(FORWARDED_FOR):
            logger.warning("Unusable X-Forwarded-For header; using the connection's address.")
    return address or _valid(request.META.get("REMOTE_ADDR")) or UNKNOWN_ADDRESS


def _valid(value) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return None
