"""The public specialist finder: which region and specialist covers a state."""

from django.http import JsonResponse
from django.shortcuts import render

from contacts.models import ProgramContact

from .models import Jurisdiction
from .selectors import regions_with_specialists


def specialists(request):
    """All regions and specialists; with ?jurisdiction=MN, the answer for one state."""
    regions = list(regions_with_specialists())
    unmapped = list(Jurisdiction.objects.filter(region__isnull=True).order_by("name"))
    all_jurisdictions = sorted(
        [j for region in regions for j in region.jurisdictions.all()] + unmapped,
        key=lambda j: j.name,
    )
    code = request.GET.get("jurisdiction", "").strip().upper()
    selected = next((j for j in all_jurisdictions if j.code == code), None)
    context = {
        "regions": regions,
        "all_jurisdictions": all_jurisdictions,
        "selected": selected,
        "selected_region": next(
            (r for r in regions if selected and r.pk == selected.region_id), None
        ),
        "unknown_code": code if code and selected is None else "",
        "program_contacts": ProgramContact.objects.all(),
    }
    status = 404 if context["unknown_code"] else 200
    return render(request, "regions/specialists.html", context, status=status)


def specialists_json(request):
    """The same data as /specialists/, for other systems."""
    regions = regions_with_specialists()
    data = {
        "provisional_mapping": True,
        "regions": [
            {
                "number": region.number,
                "name": region.name,
                "jurisdictions": [
                    {"code": j.code, "name": j.name, "kind": j.kind}
                    for j in region.jurisdictions.all()
                ],
                "specialists": [
                    {"name": s.name, "email": s.email, "phone": s.phone}
                    for s in region.active_specialists
                ],
            }
            for region in regions
        ],
        "unmapped_jurisdictions": list(
            Jurisdiction.objects.filter(region__isnull=True).values_list("code", flat=True)
        ),
        "program_contacts": [
            {
                "role": c.get_role_display(),
                "name": c.display_name,
                "email": c.email,
                "phone": c.phone,
            }
            for c in ProgramContact.objects.all()
        ],
    }
    return JsonResponse(data)
