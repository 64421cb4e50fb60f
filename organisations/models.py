"""Tenants and who may do what in them: every read and command is scoped by these."""

import uuid

from django.conf import settings
from django.db import models


class Organisation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    """A user's organisation and roles (maker submits; approver approves or rejects)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="memberships"
    )
    is_maker = models.BooleanField(default=False)
    is_approver = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"
