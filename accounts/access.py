"""Who may use the supervisor's admin pages: RST Supervisors and superusers, by permission."""

from .roles import is_supervisor


class SupervisorOnlyAdminMixin:
    """Let a ModelAdmin (or inline) be used by supervisors only, and only as far as their
    model permissions go (accounts/groups.py grants them).

    Model permissions alone are not enough: a Resource Specialist may have staff status
    and holds view permissions for the queue, yet must not browse every region here.
    """

    def has_module_permission(self, request):
        return is_supervisor(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return is_supervisor(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        # *args: an inline's has_add_permission also takes the parent object.
        return is_supervisor(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return is_supervisor(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_supervisor(request.user) and super().has_delete_permission(request, obj)
