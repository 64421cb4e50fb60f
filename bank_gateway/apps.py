from django.apps import AppConfig


class BankGatewayConfig(AppConfig):
    name = "bank_gateway"
    verbose_name = "Bank gateway"
