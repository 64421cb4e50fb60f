from django.urls import path

from events.api import views

urlpatterns = [
    path("consumers", views.ConsumerListApi.as_view(), name="consumer-list"),
    path("relay", views.RelayStateApi.as_view(), name="relay-state"),
]
