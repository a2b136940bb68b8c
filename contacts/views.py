"""Staff pages of the partner directory: the search and one service."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from accounts.roles import is_supervisor
from regions.selectors import specialist_of

from .forms import DirectorySearchForm
from .models import PartnerService
from .selectors import directory_page, directory_service

PAGE_SIZE = 20
NO_ROLE = (
    "The partner directory is for Resource Specialists and the RST supervisors. "
    "Ask the RST supervisor to link your login."
)


def _require_role(user):
    if not (is_supervisor(user) or specialist_of(user)):
        raise PermissionDenied(NO_ROLE)


@never_cache
@login_required
@require_safe
def search(request):
    """Search by jurisdiction (national services always included), topic, language and words."""
    _require_role(request.user)
    form = DirectorySearchForm(request.GET or None)
    filters = form.filters()
    page = directory_page(filters=filters, page_number=request.GET.get("page"), per_page=PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    names = dict(form.fields["jurisdiction"].choices)  # already read: no second query
    return render(
        request,
        "contacts/search.html",
        {
            "form": form,
            "filters": filters,
            "jurisdiction_name": names[filters.jurisdiction] if filters.jurisdiction else "",
            "page": page,
            "query": query.urlencode(),
        },
    )


@never_cache
@login_required
@require_safe
def service(request, pk):
    """One service: everything a specialist passes on."""
    _require_role(request.user)
    try:
        found = directory_service(pk=pk)
    except PartnerService.DoesNotExist:
        raise Http404("No such service.") from None
    return render(request, "contacts/service.html", {"service": found})
