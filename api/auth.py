"""POST /api/v1/auth/token: trade a username and password for an API token."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api.auth_backends import sign_in_wait
from api.auth_tokens import token_expires_at, token_issue
from api.errors import InvalidCredentials
from api.schema import PROBLEM_RESPONSES


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class TokenObtainApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Attempts are counted where the password is checked (api/auth_backends.py),
    # one budget shared with the web sign-in; DRF's throttles would count apart.
    throttle_classes: list = []

    @extend_schema(
        request=TokenObtainSerializer,
        responses={200: TokenSerializer, **PROBLEM_RESPONSES},
        summary="Obtain an API token",
        description="Send it back as `Authorization: Token <token>` until "
        "`expires_at`; then obtain a new one. Sign-in attempts are throttled per "
        "username and per client address against password guessing (429).",
        operation_id="token_obtain",
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        body = TokenObtainSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        if user is None:
            wait = sign_in_wait(request._request)
            if wait is not None:
                raise Throttled(
                    wait,
                    "Too many sign-in attempts for this username or from this address.",
                )
            raise InvalidCredentials("Check the username and password.")
        token = token_issue(user=user)
        return Response({"token": token.key, "expires_at": token_expires_at(token)})
