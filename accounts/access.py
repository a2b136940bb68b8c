"""Who may use the supervisor's admin pages: RST Supervisors and superusers only."""

from .roles import is_supervisor


class SupervisorOnlyAdminMixin:
    """Hide a ModelAdmin (or inline) from everyone but supervisors.

    Model permissions alone are not enough: a Resource Specialist is staff-capable and
    holds view permissions for the queue, yet must not browse every region here.
    """

    def has_module_permission(self, request):
        return is_supervisor(request.user)

    def has_view_permission(self, request, obj=None):
        return is_supervisor(request.user)

    def has_change_permission(self, request, obj=None):
        return is_supervisor(request.user)
