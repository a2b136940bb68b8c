"""Site-wide request guards."""

from django.conf import settings
from django.shortcuts import render


class RequestSizeLimitMiddleware:
    """Refuse a request body over RST_MAX_REQUEST_BYTES before anything reads it.

    No page of the portal takes files, and the largest form is a few dozen kilobytes;
    a 20 MB upload is refused with a page that says why, not read and thrown away.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.RST_MAX_REQUEST_BYTES:
            context = {"limit_kb": settings.RST_MAX_REQUEST_BYTES // 1024}
            return render(request, "request_too_large.html", context, status=413)
        return self.get_response(request)
