from django.urls import path

from . import views

app_name = "referrals"

urlpatterns = [
    path("refer/", views.refer, name="refer"),
    path("refer/submitted/<str:reference>/", views.submitted, name="submitted"),
]
