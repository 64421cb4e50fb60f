"""The fault lab's page and the JSON controls it calls (demo mode only)."""

from django.urls import path

from lab import views

app_name = "lab"

urlpatterns = [
    path("lab", views.lab_page, name="page"),
    path("lab/state", views.LabStateApi.as_view(), name="state"),
    path("lab/poison", views.LabPoisonApi.as_view(), name="poison"),
    path("lab/repair", views.LabRepairApi.as_view(), name="repair"),
    path("lab/replay", views.LabReplayApi.as_view(), name="replay"),
    path("lab/relay", views.LabRelayApi.as_view(), name="relay"),
    path("lab/bank", views.LabBankApi.as_view(), name="bank"),
    path("lab/payments", views.LabDemoPaymentApi.as_view(), name="payment"),
    path(
        "lab/payments/<uuid:payment_id>/approve",
        views.LabDemoApproveApi.as_view(),
        name="payment-approve",
    ),
]
