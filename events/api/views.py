"""HTTP for the consumers' state and the relay's: parse, call, render.

An operator (organisations.selectors.is_operator) sees every organisation's
queues and the relay's leader; a member sees their organisation's counts only.
The demo's switches and fault controls over these are the lab's (lab/api/).
The event catalogue, an AsyncAPI document, is public as the OpenAPI one is.
"""

from django.urls import NoReverseMatch, reverse
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import READ_PROBLEMS
from events.api.serializers import (
    AsyncApiDocumentSerializer,
    ConsumerListSerializer,
    OrganisationRelayStateSerializer,
    RelayStateSerializer,
)
from events.catalogue import catalogue_document
from events.monitoring import consumer_overview, relay_failures
from events.organisation_monitoring import (
    organisation_consumer_overview,
    organisation_relay_overview,
)
from events.relay_switch import relay_overview
from organisations.selectors import is_operator, organisation_id_for

RELAY_STATE = PolymorphicProxySerializer(
    component_name="RelayStateOfScope",
    serializers={
        "global": RelayStateSerializer,
        "organisation": OrganisationRelayStateSerializer,
    },
    resource_type_field_name="scope",
)


class ConsumerListApi(APIView):
    @extend_schema(
        responses={200: ConsumerListSerializer, **READ_PROBLEMS},
        summary="Each consumer: paused, running, backlog, dead letters, parked "
        "(operators: every organisation's and the queues; members: their own)",
        operation_id="consumers_list",
        tags=["consumers"],
    )
    def get(self, request):
        if is_operator(user=request.user):
            overview = consumer_overview()
        else:
            overview = organisation_consumer_overview(
                organisation_id=organisation_id_for(user=request.user)
            )
        return Response(ConsumerListSerializer(overview).data)


class RelayStateApi(APIView):
    @extend_schema(
        responses={200: RELAY_STATE, **READ_PROBLEMS},
        summary="The relay: paused or running, the outbox backlog and the rows "
        "it could not publish (operators: the whole outbox and the leader; "
        "members: their own events)",
        operation_id="relay_retrieve",
        tags=["consumers"],
    )
    def get(self, request):
        # Failed rows name events and errors: tenant data, like the counts.
        if is_operator(user=request.user):
            state = {
                **relay_overview(),
                "scope": "global",
                "failures": relay_failures(organisation_id=None),
            }
            return Response(RelayStateSerializer(state).data)
        organisation_id = organisation_id_for(user=request.user)
        state = {
            **organisation_relay_overview(organisation_id=organisation_id),
            "failures": relay_failures(organisation_id=organisation_id),
        }
        return Response(OrganisationRelayStateSerializer(state).data)


# Pages of the browser demo the document links to, by URL name: left out when
# the demo is not installed.
CATALOGUE_LINKS = {
    "Versioned schemas: the lesson": ("web:doc", ["lessons/versioned-schemas.md"]),
    "The event catalogue, browsable": ("web:catalogue", []),
}


def _links(request) -> dict[str, str]:
    links = {}
    for label, (name, args) in CATALOGUE_LINKS.items():
        try:
            links[label] = request.build_absolute_uri(reverse(name, args=args))
        except NoReverseMatch:
            continue
    return links


class AsyncApiDocumentApi(APIView):
    # Who may read it: whoever may read the OpenAPI document (api/urls.py "schema").
    permission_classes = spectacular_settings.SERVE_PERMISSIONS

    @extend_schema(
        responses={200: AsyncApiDocumentSerializer},
        summary="The event catalogue: an AsyncAPI 3.0.0 document of every event "
        "type and version, its JSON Schema, producer and consumers",
        operation_id="asyncapi_retrieve",
        tags=["events"],
    )
    def get(self, request):
        return Response(catalogue_document(links=_links(request)))
