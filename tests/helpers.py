"""Small helpers shared by the page tests."""

import html
import re
import time
from base64 import b32encode
from html.parser import HTMLParser
from urllib.parse import urlencode

import pyotp
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

TEST_AUTHENTICATOR = "Test authenticator"


def as_user(user, *, verified: bool = True) -> Client:
    """A test client logged in as `user` (force_login: django-axes needs a request to log in).

    As a real login: the password, then the second factor (the user's authenticator app,
    made if they have none). `verified=False` stops after the password.
    """
    client = Client()
    client.force_login(user)
    if verified:
        verify_session(client, user)
    return client


def totp_device(user) -> TOTPDevice:
    """The user's authenticator app (a confirmed TOTP device), made on first use."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name=TEST_AUTHENTICATOR, defaults={"confirmed": True}
    )
    return device


def totp_code(device: TOTPDevice, *, ahead: int = 0) -> str:
    """The code the authenticator app shows: a fresh one each call (a code works once).

    django-otp accepts one step either side of now (plus the drift it has learnt) and
    never a step already used, so each call gives the code of the next usable step.
    """
    device.refresh_from_db()
    now_step = int(time.time()) // device.step
    step = max(now_step + device.drift, device.last_t + 1) + ahead
    return pyotp.TOTP(b32encode(device.bin_key).decode()).at(step * device.step)


def verify_session(client: Client, user) -> None:
    """Mark the client's session verified by the user's authenticator app (as a code would)."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
    session.save()


def page_text(response) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, spaces collapsed."""
    without_tags = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(without_tags).split())


class _FormFields(HTMLParser):
    """The controls of the first POST form on a page, in document order."""

    def __init__(self):
        super().__init__()
        self.controls, self.in_form, self.done = [], False, False
        self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and not self.done and attrs.get("method", "").lower() == "post":
            self.in_form = True
        if not self.in_form:
            return
        if tag == "input":
            self.controls.append(("input", attrs))
        elif tag == "textarea":
            self._textarea = attrs
            self.controls.append(("textarea", attrs))
        elif tag == "select":
            self._select = attrs
            self.controls.append(("select", attrs))

    def handle_endtag(self, tag):
        if tag == "form" and self.in_form:
            self.in_form, self.done = False, True


def browser_post(html: str, answers: dict) -> list[tuple[str, str]]:
    """What a browser posts for `html`'s form once a person has given `answers`.

    Every control in document order, as a browser sends it: hidden inputs with the value
    the page served (all of them, duplicates included), text from `answers` (or what the
    page pre-filled), radio buttons and checkboxes only when ticked.
    """
    parser = _FormFields()
    parser.feed(html)
    posted = []
    for tag, attrs in parser.controls:
        name = attrs.get("name")
        if not name or "disabled" in attrs:
            continue
        kind = attrs.get("type", "text") if tag == "input" else tag
        if kind in ("submit", "button", "file"):
            continue
        if kind == "hidden":
            posted.append((name, attrs.get("value", "")))
        elif kind in ("radio", "checkbox"):
            wanted = answers.get(name, [])
            wanted = wanted if isinstance(wanted, list) else [wanted]
            if attrs.get("value", "on") in wanted:
                posted.append((name, attrs.get("value", "on")))
        else:
            posted.append((name, str(answers.get(name, attrs.get("value", "")))))
    return posted


def post_like_a_browser(client: Client, path: str, answers: dict):
    """GET `path`, then POST its form as a browser would, with every hidden input."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return page, client.post(
        path,
        urlencode(browser_post(page.content.decode(), answers)),
        content_type="application/x-www-form-urlencoded",
    )


def wait_for(condition, *, timeout: float, interval: float = 0.05) -> bool:
    """Poll `condition` until it holds or `timeout` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
