"""Template tags of the staff workspace: the one-time token each action form carries."""

from django import template
from django.utils.html import format_html

from referrals.services import new_action_token

register = template.Library()


@register.simple_tag
def action_token():
    """A hidden input with a fresh one-time token: put it in every action form.

    The service records it on the event it writes, so the same form posted twice (a
    double click, a retry on a slow line) acts once and lands on the same result.
    """
    return format_html('<input type="hidden" name="action_token" value="{}">', new_action_token())
