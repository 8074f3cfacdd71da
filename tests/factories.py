"""factory_boy factories shared by the test suite."""

import factory
from django.contrib.auth import get_user_model

from accounts.models import Account
from accounts.normalizers import company_name_key


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")
    name_key = factory.LazyAttribute(lambda account: company_name_key(account.name))
    domain = factory.Sequence(lambda n: f"company{n}.example")
    website = factory.LazyAttribute(lambda account: f"https://{account.domain}/")
    country = "US"
    employee_count = 500
    employee_min = 500
    employee_max = 500
    employee_raw = "500"
