from django.urls import path

from lab.api import views

urlpatterns = [
    path(
        "consumers/<str:name>/pause",
        views.ConsumerPauseApi.as_view(),
        name="consumer-pause",
    ),
    path(
        "consumers/<str:name>/resume",
        views.ConsumerResumeApi.as_view(),
        name="consumer-resume",
    ),
    path(
        "consumers/<str:name>/dead-letters/redrive",
        views.DeadLetterRedriveApi.as_view(),
        name="consumer-dead-letters-redrive",
    ),
    path(
        "consumers/<str:name>/reads",
        views.ConsumerReadsApi.as_view(),
        name="consumer-reads",
    ),
    path("relay/pause", views.RelayPauseApi.as_view(), name="relay-pause"),
    path("relay/resume", views.RelayResumeApi.as_view(), name="relay-resume"),
    path(
        "events/<uuid:event_id>/redeliver",
        views.EventRedeliverApi.as_view(),
        name="event-redeliver",
    ),
    path(
        "event-versions/<str:event_type>",
        views.EventVersionSwitchApi.as_view(),
        name="event-version-switch",
    ),
    path(
        "payments/<uuid:payment_id>/deliver-reversed",
        views.PaymentDeliverReversedApi.as_view(),
        name="payment-deliver-reversed",
    ),
]
