import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

def test_b(live_server):
    print("B groups", Group.objects.count())
