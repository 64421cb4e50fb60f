"""Stored Idempotency-Key requests and their first response."""

import uuid

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """One client key, scoped to its user so keys never leak across clients."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, help_text="sha256 of method, path, body"
    )
    state = models.CharField(max_length=20, choices=State.choices)
    claim_token = models.UUIDField(default=uuid.uuid4)
    locked_until = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], name="idempotency_key_per_user"
            )
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key} {self.state}"
