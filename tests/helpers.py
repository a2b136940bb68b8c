"""Small helpers shared by the page tests."""

import html
import re

from django.test import Client


def as_user(user) -> Client:
    """A test client logged in as `user` (force_login: django-axes needs a request to log in)."""
    client = Client()
    client.force_login(user)
    return client


def page_text(response) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    without_tags = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(without_tags).split())
