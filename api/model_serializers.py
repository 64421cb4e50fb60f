"""A ModelSerializer that works its fields out from the model once per class.

DRF's ModelSerializer builds every field again from the model's metadata for
each serializer it makes: for each answer, and for each item of a list. The
fields depend only on the class (its Meta and declared fields), so this one
builds them once and gives each serializer a deep copy, the way DRF already
gives each one copies of its declared fields. In the approve answer the
building was about half of the serializer's time (docs/benchmark.md).
"""

import copy

from rest_framework import serializers


class ModelSerializer(serializers.ModelSerializer):
    """Use instead of DRF's for a serializer whose fields do not depend on its
    context (a subclass that changes its fields per request must not)."""

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built")  # this class's, not a parent's
        if built is None:
            built = super().get_fields()
            cls._fields_built = built
        return copy.deepcopy(built)
