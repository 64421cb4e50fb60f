"""The browser's forms: a payment typed in major units, and a rejection's reason.

The forms check what a person can fix on the spot (every field at once); the
payments service remains the authority and checks again.
"""

from django import forms

from payments.free_text import free_text_error
from payments.iban import iban_error, iban_normalise
from web.amounts import AmountError, amount_parse


def printable_text(value: str) -> None:
    """Refuse control and invisible characters (payments/free_text.py's rule)."""
    if error := free_text_error(value):
        raise forms.ValidationError(error)


class PaymentSubmitForm(forms.Form):
    debtor_account = forms.ChoiceField(label="Pay from")
    amount = forms.CharField(
        label="Amount",
        max_length=40,
        help_text="In major units, e.g. 125.50",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    creditor_name = forms.CharField(
        label="Pay to (name)", max_length=140, validators=[printable_text]
    )
    creditor_iban = forms.CharField(
        label="Creditor IBAN",
        max_length=42,
        help_text="Spaces are fine, e.g. DE89 3704 0044 0532 0130 00",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    reference = forms.CharField(
        label="Reference",
        max_length=140,
        required=False,
        validators=[printable_text],
    )

    def __init__(self, *args, accounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.accounts = {str(account.id): account for account in accounts}
        self.fields["debtor_account"].choices = [
            (key, f"{account.name} · {account.currency}")
            for key, account in self.accounts.items()
        ]

    @property
    def account(self):
        return self.accounts.get(self.cleaned_data.get("debtor_account", ""))

    def clean_creditor_iban(self) -> str:
        iban = iban_normalise(self.cleaned_data["creditor_iban"])
        if error := iban_error(iban):
            raise forms.ValidationError(error)
        return iban

    def clean(self):
        cleaned = super().clean()
        account = self.account
        if account is not None and "amount" in cleaned:
            try:
                cleaned["amount_minor"] = amount_parse(
                    cleaned["amount"], account.currency
                )
            except AmountError as exc:
                self.add_error("amount", str(exc))
        return cleaned

    def add_service_errors(self, errors: dict) -> None:
        """Show a service's per-field refusal next to the field it concerns."""
        fields = {
            "amount": "amount",
            "currency": "debtor_account",
            "debtor_account": "debtor_account",
            "reference": "reference",
        }
        for key, messages in errors.items():
            if key == "creditor" and isinstance(messages, dict):
                for sub, sub_messages in messages.items():
                    self.add_error(
                        "creditor_iban" if sub == "iban" else "creditor_name",
                        list(sub_messages),
                    )
            else:
                self.add_error(fields.get(key), list(messages))


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Wrong creditor IBAN"}),
        error_messages={"required": "A rejection needs a reason."},
        validators=[printable_text],
    )
