from django.urls import path

from reconciliation.api import views

urlpatterns = [
    path("expectations", views.ExpectationListApi.as_view(), name="expectation-list"),
]
