"""api/model_serializers.py: fields worked out once per class, copied per use."""

from rest_framework import serializers

from payments.api.serializers import PaymentSerializer
from tests.factories import payment_submitted


def _drf_own(serializer_class):
    """The same serializer on DRF's ModelSerializer, which builds fields each time."""
    return type(
        "Plain",
        (serializers.ModelSerializer,),
        {
            **{
                name: field for name, field in serializer_class._declared_fields.items()
            },
            "Meta": serializer_class.Meta,
            "get_creditor": serializer_class.get_creditor,
        },
    )


def test_the_fields_are_built_from_the_model_once_per_class(
    monkeypatch, alice, acme_eur
):
    # given: one serializer of the class already made
    payment = payment_submitted(by=alice, account=acme_eur)
    assert PaymentSerializer(payment).data
    built = []
    build_field = serializers.ModelSerializer.build_field

    def counted(self, *args, **kwargs):
        built.append(args[0])
        return build_field(self, *args, **kwargs)

    monkeypatch.setattr(serializers.ModelSerializer, "build_field", counted)

    # when
    first, second = PaymentSerializer(payment), PaymentSerializer(payment)

    # then: no field built again, each serializer has its own copies, and the
    # answer is DRF's own
    assert first.data == _drf_own(PaymentSerializer)(payment).data
    assert second.data == first.data
    assert built.count("status") == 1  # only by the DRF serializer above
    assert first.fields["status"] is not second.fields["status"]
    assert first.fields["status"].parent is first
    assert second.fields["status"].parent is second
