from django.contrib import admin

from .models import PartnerOrganization, ProgramContact


@admin.register(ProgramContact)
class ProgramContactAdmin(admin.ModelAdmin):
    list_display = ["role", "name", "email", "phone"]


@admin.register(PartnerOrganization)
class PartnerOrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "is_national", "website", "phone"]
    list_filter = ["is_national"]
    search_fields = ["name", "services", "description"]
    filter_horizontal = ["areas_served"]
