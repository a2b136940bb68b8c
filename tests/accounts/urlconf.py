"""Every URL of the site, as a concrete path, with what accounts.pages says it is."""

import re

from django.urls import URLPattern, URLResolver, get_resolver, resolve

from accounts.pages import access_of

# A value for each named URL parameter that resolves; "1" for the rest.
SAMPLES = {
    "reference": "RST-0000000A",
    "action": "note",
    "decision": "confirm",
    "change": "revoke",
    "app_label": "referrals",
    "uidb64": "MQ",
    "token": "set-password",
    "content_type_id": "1",
    "object_id": "1",
}


def _concrete(pattern_text: str) -> str:
    text = pattern_text.lstrip("^").rstrip("$").replace("\\Z", "")
    # Regex groups first: "(?P<name>…)" also contains "<name>".
    text = re.sub(
        r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", lambda m: SAMPLES.get(m.group(1), "1"), text
    )
    text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLES.get(m.group(1), "1"), text)
    return text.replace("\\", "")


def site_urls(patterns=None, prefix=""):
    """(path, access) for every URL pattern of the site."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for pattern in patterns:
        text = prefix + _concrete(str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from site_urls(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            path = "/" + text
            match = resolve(path)  # the sample must reach this pattern's view
            yield path, access_of(match.func)
