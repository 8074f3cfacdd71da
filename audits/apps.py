from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Audits"

    def ready(self) -> None:
        from . import baseline, history, signals  # noqa: F401  (connect the receivers)
