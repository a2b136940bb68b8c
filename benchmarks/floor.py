"""The benchmark's floor: the least a Django page can cost on the portal's own stack.

The same settings, middleware (sessions, CSRF, security headers, staff pages, ...),
database, cache and gunicorn flags as the portal, with views that do nothing else: a
public form with a CSRF token, a POST that writes one row (one INSERT) and remembers it
in the session, a confirmation that reads the session, and a staff page for a user
logged in with a second factor. scripts/benchmark
serves it (`gunicorn benchmarks.floor:application`) and drives it with the same clients
as the portal, so every figure of the portal is also a ratio to this.

The row goes to `benchmark_floor`, a table scripts/benchmark creates (not a model: this
is no part of the portal).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rst_portal.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()  # sets Django up: models can be imported below

from django.conf import settings  # noqa: E402
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import Http404, HttpResponse  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.shortcuts import redirect  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils.html import escape  # noqa: E402
from django.views.decorators.http import require_http_methods  # noqa: E402

from accounts.pages import public  # noqa: E402
from referrals.models import new_reference  # noqa: E402

SESSION_KEY = "benchmark_floor"
PAGE = "<!doctype html><html><head><title>Floor</title></head><body>{}</body></html>"


@public
@require_http_methods(["GET", "POST"])
def form(request):
    if request.method == "GET":
        token = escape(get_token(request))
        return HttpResponse(
            PAGE.format(
                '<form method="post" action="/floor/">'
                f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
                '<input name="name"><button type="submit">Send</button></form>'
            )
        )
    reference = new_reference()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO benchmark_floor (reference, name) VALUES (%s, %s)",
            [reference, request.POST.get("name", "")[:100]],
        )
    request.session[SESSION_KEY] = [*request.session.get(SESSION_KEY, [])[-19:], reference]
    return redirect(f"/floor/done/{reference}/")


@public
def done(request, reference):
    if reference not in request.session.get(SESSION_KEY, []):
        raise Http404("Not sent from this browser.")
    return HttpResponse(PAGE.format(f"<p>Received: {escape(reference)}</p>"))


@login_required  # and, as every staff page, a second factor (accounts.middleware)
def page(request):
    return HttpResponse(PAGE.format(f"<p>{escape(request.user.get_username())}</p>"))


urlpatterns = [
    path("floor/", form),
    path("floor/done/<str:reference>/", done),
    path("floor/page/", page),
]

# The portal's settings, with these views in place of its pages.
settings.ROOT_URLCONF = __name__
