"""Links into the admin's referral list, built from the list filters' own parameter names."""

from django import template

from referrals.admin.referrals import changelist_url as build

register = template.Library()


@register.simple_tag
def changelist_url(**filters):
    """`{% changelist_url status="open" reviewed="no" %}`: see referrals.admin.referrals."""
    return build(**filters)
