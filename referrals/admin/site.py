"""The admin's "view on site" redirect, with the queue's scope for referrals.

Django's own redirect (/admin/r/<content type>/<id>/) answers any staff login, so it
would turn a referral's id into its reference for someone who may not see it. For a
referral it answers only who may open the referral in /queue/; for anything else it is
Django's view unchanged. rst_portal/urls.py puts it before the admin's URLs.
"""

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.http import Http404

from referrals.models import Referral
from referrals.selectors import referrals_visible_to


def _view_on_site(request, content_type_id, object_id):
    content_type = ContentType.objects.filter(pk=content_type_id).first()
    if content_type is not None and content_type.model_class() is Referral:
        try:
            pk = int(object_id)
        except ValueError:
            raise Http404("No referral with that id.") from None
        if not referrals_visible_to(request.user).filter(pk=pk).exists():
            raise Http404("No referral with that id in your queue.")
    return shortcut(request, content_type_id, object_id)


view_on_site = admin.site.admin_view(_view_on_site)
