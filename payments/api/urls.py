from django.urls import path

from payments.api import views

urlpatterns = [
    path("accounts", views.AccountListApi.as_view(), name="account-list"),
    path("payments", views.PaymentListCreateApi.as_view(), name="payment-list"),
    path(
        "payments/<uuid:payment_id>",
        views.PaymentDetailApi.as_view(),
        name="payment-detail",
    ),
    path(
        "payments/<uuid:payment_id>/approve",
        views.PaymentApproveApi.as_view(),
        name="payment-approve",
    ),
    path(
        "payments/<uuid:payment_id>/reject",
        views.PaymentRejectApi.as_view(),
        name="payment-reject",
    ),
    path(
        "payments/<uuid:payment_id>/cancel",
        views.PaymentCancelApi.as_view(),
        name="payment-cancel",
    ),
    path(
        "payments/<uuid:payment_id>/events",
        views.PaymentEventListApi.as_view(),
        name="payment-events",
    ),
]
