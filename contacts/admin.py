"""The supervisor's admin: program contacts and the partner directory, with CSV import/export."""

import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.access import SupervisorOnlyAdminMixin
from accounts.roles import is_supervisor

from .exchange import COLUMN_HELP, hsds_document, write_csv
from .forms import DirectoryImportForm, PartnerServiceAdminForm
from .models import PartnerOrganization, PartnerService, ProgramContact, ServiceArea
from .selectors import directory_for_export
from .services import directory_import, partner_service_set_vocabulary


@admin.register(ProgramContact)
class ProgramContactAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["role", "name", "email", "phone"]


def organization_permission(request, action: str) -> bool:
    """The supervisor role and the organization model permission `action` (view/add/...)."""
    return is_supervisor(request.user) and request.user.has_perm(
        f"contacts.{action}_partnerorganization"
    )


class OrganizationPermissionsMixin:
    """A service and its areas are part of an organization's entry: the organization's
    permissions (accounts/groups.py grants them to supervisors) cover them."""

    def has_module_permission(self, request):
        return organization_permission(request, "view")

    def has_view_permission(self, request, obj=None):
        return organization_permission(request, "view")

    def has_add_permission(self, request, *args):
        return organization_permission(request, "add")

    def has_change_permission(self, request, obj=None):
        return organization_permission(request, "change")

    def has_delete_permission(self, request, obj=None):
        return organization_permission(request, "delete")


class ServiceListInline(OrganizationPermissionsMixin, admin.TabularInline):
    model = PartnerService
    fields = ["name", "status", "is_national", "last_verified_on"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "services (open one to change it)"


@admin.register(PartnerOrganization)
class PartnerOrganizationAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "website", "phone", "service_count"]
    search_fields = ["name", "description"]
    readonly_fields = ["uid", "add_service"]
    fields = ["name", "description", "website", "phone", "email", "add_service", "uid"]
    inlines = [ServiceListInline]
    change_list_template = "contacts/admin/partnerorganization_change_list.html"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(service_count=Count("services"))

    @admin.display(description="services", ordering="service_count")
    def service_count(self, organization):
        return organization.service_count

    @admin.display(description="")
    def add_service(self, organization):
        if not organization.pk:
            return "Save the organization first, then add its services."
        url = reverse("admin:contacts_partnerservice_add") + f"?organization={organization.pk}"
        return format_html('<a href="{}">Add a service of this organization</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="contacts_directory_import"),
            path("export.csv", view(self.export_csv_view), name="contacts_directory_export_csv"),
            path("export.json", view(self.export_hsds_view), name="contacts_directory_export_hsds"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Upload a CSV; every problem is listed by row and column, and nothing is written
        unless the whole file is valid (or the supervisor chose to skip the bad rows)."""
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        report = None
        form = DirectoryImportForm(request.POST or None, request.FILES or None, label_suffix="")
        if request.method == "POST" and form.is_valid():
            report = directory_import(
                data=form.cleaned_data["file"],
                skip_invalid=form.cleaned_data["skip_invalid"],
                dry_run=form.cleaned_data["dry_run"],
            )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import partner services from CSV",
            "form": form,
            "report": report,
            "columns": COLUMN_HELP.items(),
        }
        status = 400 if report and report.errors and not report.imported else 200
        return TemplateResponse(request, "contacts/admin/import.html", context, status=status)

    def export_csv_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
        response.write("\ufeff")  # so spreadsheets read the file as UTF-8
        write_csv(directory_for_export(), response)
        return response

    def export_hsds_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        response = HttpResponse(
            json.dumps(hsds_document(directory_for_export()), indent=2, ensure_ascii=False),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{_filename("hsds.json")}"'
        return response


def _filename(extension: str) -> str:
    return f"rst-partner-directory-{timezone.localtime():%Y%m%d-%H%M}.{extension}"


class ServiceAreaInline(OrganizationPermissionsMixin, admin.TabularInline):
    model = ServiceArea
    extra = 1
    verbose_name_plural = "areas served (leave empty when the service is national)"


@admin.register(PartnerService)
class PartnerServiceAdmin(OrganizationPermissionsMixin, admin.ModelAdmin):
    form = PartnerServiceAdminForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "organization", "is_national", "status", "last_verified_on"]
    list_filter = ["status", "is_national", "topics__topic", "languages__language"]
    list_select_related = ["organization"]
    search_fields = ["name", "description", "organization__name"]
    readonly_fields = ["uid"]
    inlines = [ServiceAreaInline]
    fieldsets = [
        (None, {"fields": ["organization", "name", "description", "status", "topic_list"]}),
        (
            "Who and where",
            {
                "fields": [
                    "is_national",
                    ("minimum_age", "maximum_age"),
                    "eligibility",
                    "language_list",
                    "interpretation",
                ]
            },
        ),
        (
            "How to reach it",
            {"fields": ["phone", "website", "email", "how_to_refer", "last_verified_on", "uid"]},
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("topics", "languages")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        partner_service_set_vocabulary(
            service=form.instance,
            topics=form.cleaned_data["topic_list"],
            languages=form.cleaned_data["language_list"],
        )
