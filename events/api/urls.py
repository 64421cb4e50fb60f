from django.urls import path

from events.api import views

urlpatterns = [
    path("asyncapi.json", views.AsyncApiDocumentApi.as_view(), name="asyncapi"),
    path("consumers", views.ConsumerListApi.as_view(), name="consumer-list"),
    path("relay", views.RelayStateApi.as_view(), name="relay-state"),
]
