"""Webhooks: change detection from ScoreRecords, signed deliveries, retries, URL checks."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Tier
from accounts.research import account_segment_override
from integrations import http
from integrations.models import WebhookCursor, WebhookDelivery, WebhookSubscription
from integrations.services.webhooks import (
    WebhookConfig,
    retry_delay_seconds,
    webhook_delivery_attempt,
    webhook_events_dispatch,
    webhook_subscription_create,
)
from integrations.signing import signature_header, signature_verify
from integrations.tasks import webhook_dispatch_task, webhook_retry_task
from segmentation.models import Framework, FrameworkStatus, ScoreRecord
from tests.factories import AccountFactory

URL = "/api/v1/webhooks/"
EVENTS = ["account.tier_changed", "account.tag_changed"]


@pytest.fixture
def framework(db) -> Framework:
    return Framework.objects.create(version=901, name="Webhook tests", status=FrameworkStatus.DRAFT)


@pytest.fixture
def subscription(receiver, sales_ops) -> WebhookSubscription:
    return webhook_subscription_create(
        name="CRM", url=receiver.url, events=EVENTS, created_by=sales_ops
    )


def record(account, framework, tier: str, tag: str) -> ScoreRecord:
    return ScoreRecord.objects.create(
        account=account, framework=framework, tier=tier, tag=tag, score=50
    )


def dispatch_and_send(capture) -> list[int]:
    with capture(execute=True):
        webhook_dispatch_task.delay()
    return list(WebhookDelivery.objects.values_list("id", flat=True))


def test_tier_change_delivered_signed(
    subscription, receiver, framework, django_capture_on_commit_callbacks
):
    account = AccountFactory(name="Initech", domain="initech.example")
    record(account, framework, Tier.MEDIUM, "SaaS – SMB – US")
    change = record(account, framework, Tier.HIGH, "SaaS – SMB – US")
    dispatch_and_send(django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 2
    by_event = {item.headers["X-ICP-Event-Id"]: item for item in receiver.requests}
    received = by_event[f"evt_score_{change.pk}"]
    payload = json.loads(received.body)
    assert received.path == "/hooks/icp"
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["X-ICP-Event"] == "account.segment_changed"
    assert signature_verify(subscription.secret, received.body, received.headers["X-ICP-Signature"])
    assert not signature_verify("wrong-secret", received.body, received.headers["X-ICP-Signature"])
    assert payload["data"]["account"]["name"] == "Initech"
    assert payload["data"]["changes"] == {"tier": {"previous": "medium", "current": "high"}}
    delivery = WebhookDelivery.objects.get(event_id=payload["id"])
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.status_code == 200
    assert delivery.attempt_count == 1
    assert delivery.delivered_at is not None


def test_first_result_counts_as_change(subscription, framework):
    account = AccountFactory()
    record(account, framework, Tier.LOW, "Retail – SMB – EMEA")
    webhook_events_dispatch()
    payload = WebhookDelivery.objects.get().payload
    assert payload["data"]["changes"]["tier"] == {"previous": "", "current": "low"}
    assert payload["data"]["changes"]["tag"]["current"] == "Retail – SMB – EMEA"


def test_unchanged_result_sends_nothing(subscription, framework):
    account = AccountFactory()
    record(account, framework, Tier.LOW, "A")
    webhook_events_dispatch()
    WebhookDelivery.objects.all().delete()
    record(account, framework, Tier.LOW, "A")
    assert webhook_events_dispatch() == []
    assert not WebhookDelivery.objects.exists()


def test_tag_only_subscription_skips_tier_change(receiver, sales_ops, framework):
    webhook_subscription_create(
        name="Tags", url=receiver.url, events=["account.tag_changed"], created_by=sales_ops
    )
    account = AccountFactory()
    record(account, framework, Tier.LOW, "A")
    webhook_events_dispatch()
    WebhookDelivery.objects.all().delete()
    record(account, framework, Tier.HIGH, "A")
    assert webhook_events_dispatch() == []


def test_manual_override_sends_webhook(subscription, framework, sdr):
    account = AccountFactory(owner=sdr, framework=framework, tier=Tier.LOW, tag="A")
    record(account, framework, Tier.LOW, "A")
    webhook_events_dispatch()
    WebhookDelivery.objects.all().delete()
    account_segment_override(
        account=account, user=sdr, kind="manual_tag", reason="Call notes", tier=Tier.HIGH
    )
    webhook_events_dispatch()
    payload = WebhookDelivery.objects.get().payload
    assert payload["data"]["changes"] == {"tier": {"previous": "low", "current": "high"}}
    assert payload["data"]["manual"] is True


def test_cursor_prevents_repeats(subscription, framework):
    account = AccountFactory()
    record(account, framework, Tier.LOW, "A")
    first = webhook_events_dispatch()
    second = webhook_events_dispatch()
    assert len(first) == 1
    assert second == []
    assert WebhookCursor.objects.get().last_id == ScoreRecord.objects.get().pk


def test_young_records_wait(subscription, framework, settings):
    settings.WEBHOOK_DISPATCH_DELAY_SECONDS = 60
    account = AccountFactory()
    record(account, framework, Tier.LOW, "A")
    assert webhook_events_dispatch() == []
    assert webhook_events_dispatch(now=timezone.now() + timedelta(seconds=61)) != []


def test_changes_before_subscription_skipped(receiver, sales_ops, framework):
    account = AccountFactory()
    old = record(account, framework, Tier.LOW, "A")
    ScoreRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))
    webhook_subscription_create(name="Late", url=receiver.url, events=EVENTS, created_by=sales_ops)
    assert webhook_events_dispatch() == []


def test_no_subscription_advances_cursor(framework):
    account = AccountFactory()
    last = record(account, framework, Tier.LOW, "A")
    assert webhook_events_dispatch() == []
    assert WebhookCursor.objects.get().last_id == last.pk


def test_retry_after_500_then_success(
    subscription, receiver, framework, django_capture_on_commit_callbacks
):
    receiver.statuses = [500]
    account = AccountFactory()
    record(account, framework, Tier.HIGH, "A")
    dispatch_and_send(django_capture_on_commit_callbacks)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempt_count == 1
    assert delivery.status_code == 500
    assert "failed on purpose" in delivery.response_excerpt
    assert delivery.next_retry_at > timezone.now() + timedelta(seconds=50)
    assert webhook_retry_task.delay().get() == 0

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_retry_at=timezone.now())
    webhook_retry_task.delay()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempt_count == 2
    assert delivery.status_code == 200
    assert len(receiver.requests) == 2
    for received in receiver.requests:
        assert signature_verify(
            subscription.secret, received.body, received.headers["X-ICP-Signature"]
        )
    assert receiver.requests[0].body == receiver.requests[1].body


def test_gives_up_after_max_attempts(subscription, receiver, framework, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [503, 503]
    record(AccountFactory(), framework, Tier.HIGH, "A")
    (delivery_id,) = webhook_events_dispatch()
    webhook_delivery_attempt(delivery_id)
    WebhookDelivery.objects.filter(pk=delivery_id).update(next_retry_at=timezone.now())
    delivery = webhook_delivery_attempt(delivery_id)
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.next_retry_at is None
    assert delivery.attempt_count == 2


def test_backoff_doubles_and_caps():
    config = WebhookConfig(
        timeout_seconds=10,
        max_attempts=8,
        retry_base_seconds=60,
        retry_max_seconds=600,
        dispatch_delay_seconds=0,
        dispatch_batch_size=10,
    )
    delays = [retry_delay_seconds(attempt, config) for attempt in range(1, 7)]
    assert delays == [60, 120, 240, 480, 600, 600]


def test_attempt_not_due_is_skipped(subscription, framework):
    record(AccountFactory(), framework, Tier.HIGH, "A")
    (delivery_id,) = webhook_events_dispatch()
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        next_retry_at=timezone.now() + timedelta(minutes=5)
    )
    assert webhook_delivery_attempt(delivery_id) is None
    assert WebhookDelivery.objects.get(pk=delivery_id).attempt_count == 0


def test_private_address_refused_at_delivery(subscription, receiver, framework, settings):
    record(AccountFactory(), framework, Tier.HIGH, "A")
    (delivery_id,) = webhook_events_dispatch()
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    delivery = webhook_delivery_attempt(delivery_id)
    assert receiver.requests == []
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert "loopback" in delivery.error
    assert delivery.status_code is None


def test_6to4_loopback_refused_at_delivery(subscription, receiver, framework, settings):
    record(AccountFactory(), framework, Tier.HIGH, "A")
    (delivery_id,) = webhook_events_dispatch()
    WebhookSubscription.objects.update(url="http://[2002:7f00:1::]/hooks/icp")
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    delivery = webhook_delivery_attempt(delivery_id)
    assert receiver.requests == []
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert "127.0.0.1 (6to4)" in delivery.error
    assert delivery.status_code is None


def test_inactive_subscription_drops_delivery(subscription, receiver, framework):
    record(AccountFactory(), framework, Tier.HIGH, "A")
    (delivery_id,) = webhook_events_dispatch()
    WebhookSubscription.objects.update(is_active=False)
    delivery = webhook_delivery_attempt(delivery_id)
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert receiver.requests == []


def test_signature_rejects_old_timestamp():
    body = b'{"a":1}'
    header = signature_header("secret", body, timestamp=1_000)
    assert signature_verify("secret", body, header, now=1_100)
    assert not signature_verify("secret", body, header, now=2_000)
    assert not signature_verify("secret", body + b" ", header, now=1_100)


# Subscription API ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "http://[2002:7f00:1::]/",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[::127.0.0.1]/",
    ],
)
def test_private_url_refused(client_for, sales_ops, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = client_for(sales_ops).post(
        URL, {"name": "x", "url": url, "events": EVENTS}, format="json"
    )
    error = response.json()["error"]
    assert response.status_code == 400
    assert "url" in error["fields"]
    assert "WEBHOOK_ALLOW_PRIVATE_ADDRESSES" in error["fields"]["url"][0]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "gopher://x/"])
def test_non_http_url_refused(client_for, sales_ops, url):
    response = client_for(sales_ops).post(
        URL, {"name": "x", "url": url, "events": EVENTS}, format="json"
    )
    assert response.status_code == 400
    assert not WebhookSubscription.objects.exists()


def test_subscription_created_with_secret_once(client_for, sales_ops, receiver):
    client = client_for(sales_ops)
    response = client.post(
        URL, {"name": "CRM", "url": receiver.url, "events": ["account.tier_changed"]}, format="json"
    )
    body = response.json()
    assert response.status_code == 201, body
    assert body["secret"].startswith("whsec_")
    assert "secret" not in client.get(f"{URL}{body['id']}/").json()


def test_subscription_update_rechecks_url(client_for, sales_ops, subscription, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = client_for(sales_ops).patch(
        f"{URL}{subscription.pk}/", {"url": "http://10.0.0.5/hook"}, format="json"
    )
    assert response.status_code == 400
    assert WebhookSubscription.objects.get(pk=subscription.pk).url == subscription.url


@pytest.mark.parametrize("fixture", ["sdr", "manager", "marketing", "leadership"])
def test_subscriptions_need_sales_ops(request, client_for, fixture, receiver):
    client = client_for(request.getfixturevalue(fixture))
    response = client.post(URL, {"name": "x", "url": receiver.url, "events": EVENTS}, format="json")
    assert response.status_code == 403
    assert client.get(URL).status_code == 403


def test_deliveries_listed(client_for, sales_ops, subscription, framework):
    record(AccountFactory(), framework, Tier.HIGH, "A")
    webhook_events_dispatch()
    response = client_for(sales_ops).get(f"{URL}{subscription.pk}/deliveries/")
    rows = response.json()["results"]
    assert response.status_code == 200
    assert len(rows) == 1
    assert rows[0]["status"] == "pending"


def test_api_segment_change_reaches_receiver(
    client_for, sdr, subscription, receiver, framework, django_capture_on_commit_callbacks
):
    account = AccountFactory(owner=sdr, framework=framework, tier=Tier.LOW, tag="A")
    response = client_for(sdr).post(
        f"/api/v1/accounts/{account.pk}/segment/",
        {"tier": "high", "reason": "Signed a pilot"},
        format="json",
    )
    assert response.status_code == 200
    dispatch_and_send(django_capture_on_commit_callbacks)
    payload = json.loads(receiver.requests[-1].body)
    assert payload["data"]["account"]["id"] == account.pk
    assert payload["data"]["tier"] == "high"


def test_dispatch_task_scans_past_one_batch(subscription, framework, settings):
    # An approval records every account; a change after those records still goes out.
    settings.WEBHOOK_DISPATCH_BATCH_SIZE = 2
    account = AccountFactory()
    record(account, framework, Tier.LOW, "Retail – SMB – EMEA")
    for _ in range(4):
        record(account, framework, Tier.LOW, "Retail – SMB – EMEA")
    change = record(account, framework, Tier.HIGH, "Retail – SMB – EMEA")

    created = webhook_dispatch_task()

    assert created == 2
    assert WebhookDelivery.objects.filter(event_id=f"evt_score_{change.pk}").exists()
    assert WebhookCursor.objects.get().last_id == change.pk


def test_webhook_rejects_loopback_connection(receiver, settings, monkeypatch):
    # The URL check passed (as when a name resolved to a public address at that moment),
    # but the connection reached a loopback address.
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(http, "webhook_url_check", lambda url: None)
    with pytest.raises(http.DisallowedWebhookURL) as raised:
        http.webhook_post(receiver.url, b"{}", {}, timeout=5)
    assert str(raised.value) == (
        "The connection was rejected because 127.0.0.1 is a loopback address."
    )
    assert receiver.requests == []
