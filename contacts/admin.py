from django.contrib import admin

from accounts.access import SupervisorOnlyAdminMixin

from .models import PartnerOrganization, ProgramContact


@admin.register(ProgramContact)
class ProgramContactAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["role", "name", "email", "phone"]


@admin.register(PartnerOrganization)
class PartnerOrganizationAdmin(SupervisorOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "is_national", "website", "phone"]
    list_filter = ["is_national"]
    search_fields = ["name", "services", "description"]
    filter_horizontal = ["areas_served"]
