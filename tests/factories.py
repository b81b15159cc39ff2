from factory.declarations import Sequence, SubFactory
from factory.django import DjangoModelFactory

from faq.models import Article, Category, SecurityNotice


class CategoryFactory(DjangoModelFactory[Category]):
    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    slug = Sequence(lambda n: f"topic-{n}")
    order = Sequence(lambda n: n)
    name_zh_hans = Sequence(lambda n: f"主题{n}")
    name_en = Sequence(lambda n: f"Topic {n}")
    description_zh_hans = "关于这个主题的问题"
    description_en = "Questions about this topic"


class ArticleFactory(DjangoModelFactory[Article]):
    class Meta:
        model = Article

    language = "zh-hans"
    slug = Sequence(lambda n: f"article-{n}")
    category = SubFactory(CategoryFactory)
    title = Sequence(lambda n: f"如何提现 {n}")
    summary = "在应用里点“提现”，资金通常在 1–3 个工作日内到账。"
    body = "先看这里。\n\n1. 打开应用\n2. 点提现\n3. 输入金额\n"
    keywords = "提现, 取现"
    status = Article.Status.PUBLISHED


class SecurityNoticeFactory(DjangoModelFactory[SecurityNotice]):
    class Meta:
        model = SecurityNotice

    slug = Sequence(lambda n: f"notice-{n}")
    title_zh_hans = "客服不会索要验证码"
    title_en = "We never ask for codes"
    body_zh_hans = "任何索要验证码的人都是骗子。"
    body_en = "Anyone asking for a code is a scammer."
