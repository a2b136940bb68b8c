"""The public RST page."""

from django.shortcuts import render

from referrals.models import Service
from regions.selectors import regions_with_specialists

from .models import ProgramContact


def home(request):
    """What RST offers, why recovery planning, who to contact, and the way to refer."""
    return render(
        request,
        "contacts/home.html",
        {
            "services": Service.objects.all(),
            "regions": regions_with_specialists(),
            "program_contacts": ProgramContact.objects.all(),
        },
    )
