"""Log filters: what must never reach a log line."""

import logging
import re

# The referrer's status link carries its only key in the path (/status/<token>/):
# Django logs the path of every 4xx/5xx answer ("Bad Request: /status/…/").
STATUS_TOKEN = re.compile(r"/status/[^/\s\"'?#]+")
REDACTED = "/status/[token]"


class RedactStatusTokens(logging.Filter):
    """Replace status-link tokens in a record's message with a placeholder."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/status/" in message:
            record.msg = STATUS_TOKEN.sub(REDACTED, message)
            record.args = ()
        return True
