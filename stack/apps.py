from django.apps import AppConfig


class StackConfig(AppConfig):
    name = "stack"
    verbose_name = "The process list: how the app runs, embedded or as a real stack"
