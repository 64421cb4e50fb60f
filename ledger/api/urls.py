from django.urls import path

from ledger.api import views

urlpatterns = [
    path("accounts", views.LedgerAccountListApi.as_view(), name="ledger-account-list"),
    path("entries", views.LedgerEntryListApi.as_view(), name="ledger-entry-list"),
]
