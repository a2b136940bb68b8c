"""The referrer's status links on a referral's staff page: `{% status_link_panel referral %}`."""

from django import template

from referrals import services, status_links

register = template.Library()


@register.inclusion_tag("referrals/workspace/partials/status_link_panel.html", takes_context=True)
def status_link_panel(context, referral):
    """What the referrer's links look like now, and the buttons for whoever may change them
    (Django passes the page's CSRF token on to the panel).

    `referral.has_new_information` is as the page read it: the view has just cleared it
    for the assigned specialist, and this is where they see why it was set.
    """
    user = context["request"].user
    return {
        "referral": referral,
        "summary": status_links.status_link_summary(referral=referral),
        "may_manage": status_links.may_manage_links(user=user, referral=referral),
        # One token per button and page view: the same form posted twice acts once.
        "revoke_token": services.new_action_token(),
        "send_token": services.new_action_token(),
    }
