from django.urls import path

from settlement.api import views

urlpatterns = [
    path(
        "settlement-files",
        views.SettlementFileListReceiveApi.as_view(),
        name="settlement-file-list",
    ),
    path(
        "settlement-files/<uuid:file_id>",
        views.SettlementFileDetailApi.as_view(),
        name="settlement-file-detail",
    ),
    path(
        "settlement-files/<uuid:file_id>/lines",
        views.StatementLineListApi.as_view(),
        name="settlement-file-lines",
    ),
    path(
        "settlement-lines",
        views.StatementLineSearchApi.as_view(),
        name="settlement-line-search",
    ),
    path(
        "settlement-files/<uuid:file_id>/reprocess",
        views.SettlementFileReprocessApi.as_view(),
        name="settlement-file-reprocess",
    ),
]
