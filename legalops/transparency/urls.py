from django.urls import path

from legalops.transparency import api

urlpatterns = [
    path("transparency/", api.TransparencyView.as_view(), name="transparency"),
    path("transparency/csv", api.TransparencyCsvView.as_view(), name="transparency-csv"),
]
