from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class FaqConfig(AppConfig):
    name = "faq"
    verbose_name = _("Help content")

    def ready(self) -> None:
        from faq import search
        from faq.models import Article, Category, SecurityNotice

        # The search index follows every save of an article, in the same transaction.
        post_save.connect(
            search.index_saved_article, sender=Article, dispatch_uid="faq.search.index"
        )
        # Cached pages go stale when an article, a category or a notice (home, security)
        # changes: at once, and again on commit, or another worker could cache the old text
        # under the new version.
        for model in (Article, Category, SecurityNotice):
            for signal in (post_save, post_delete):
                signal.connect(_content_changed, sender=model, dispatch_uid=f"faq.pages.{model}")


def _content_changed(**kwargs: object) -> None:
    from faq import pagecache

    pagecache.bump_version()
    transaction.on_commit(pagecache.bump_version)
