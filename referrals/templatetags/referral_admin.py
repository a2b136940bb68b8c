"""Links into the admin's referral list, built from the list filters' own parameter names,
and the time left before a due time."""

from django import template

from referrals import deadlines
from referrals.admin.referrals import changelist_url as build

register = template.Library()


@register.simple_tag
def changelist_url(**filters):
    """`{% changelist_url status="open" reviewed="no" %}`: see referrals.admin.referrals."""
    return build(**filters)


@register.filter
def time_left(due, now=None):
    """`{{ referral.first_contact_due_at|time_left:now }}`: "overdue by 1 day", in business time."""
    return deadlines.time_left(due, now=now)
