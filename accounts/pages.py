"""Which pages are public, which are steps of signing in; every other page is a staff page.

The URL confs mark the public pages and the sign-in steps (`public(view)`,
`sign_in_step(view)`); accounts.middleware.StaffPagesMiddleware treats every other view
as a staff page: login, a verified second factor, a replaced one-time password, no
caching. A new view is a staff page unless someone marks it public on purpose.
"""

PUBLIC = "public"
SIGN_IN_STEP = "sign-in step"
STAFF = "staff"

ACCESS_ATTRIBUTE = "rst_access"


def public(view):
    """Mark a view as open to anyone (the information pages, the referral form, login)."""
    setattr(view, ACCESS_ATTRIBUTE, PUBLIC)
    return view


def sign_in_step(view):
    """Mark a view as part of signing in: logged in, second factor not yet verified."""
    setattr(view, ACCESS_ATTRIBUTE, SIGN_IN_STEP)
    return view


def mark_patterns(patterns, mark):
    """Apply `mark` to every view of an included URL conf (a third party's)."""
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            mark_patterns(pattern.url_patterns, mark)
        else:
            mark(pattern.callback)
    return patterns


def access_of(view) -> str:
    return getattr(view, ACCESS_ATTRIBUTE, STAFF)
