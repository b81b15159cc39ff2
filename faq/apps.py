from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class FaqConfig(AppConfig):
    name = "faq"
    verbose_name = _("Help content")

    def ready(self) -> None:
        from faq import search
        from faq.models import Article

        # The search index follows every save of an article, in the same transaction.
        post_save.connect(
            search.index_saved_article, sender=Article, dispatch_uid="faq.search.index"
        )
