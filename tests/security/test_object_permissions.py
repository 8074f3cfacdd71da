"""Object permissions by id: a member of team A cannot change, or read private, team B objects.

Every URL pattern that takes an object id is found with ``get_resolver`` and requested
with team B's ids by team A's SDR and Sales Manager, with GET, POST, PUT, PATCH and DELETE.
Every sales role reads every account, its notes and its scores (see
``accounts.selectors.account_list_base``), so those reads are allowed. Writes are never
allowed, and the database must be unchanged after each request. A URL with an id argument
that this module does not know fails the test, so a new view gets checked when it is added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from accounts import roles
from accounts.importing.report import REPORT_FOLDER
from accounts.models import Account, ImportCancelRequest, ImportRun, ResearchNote, SegmentOverride
from accounts.workspace import account_version
from audits.models import AuditRun, ReviewItem, ReviewSession, Violation
from enrichment.models import EnrichmentRun
from integrations.models import ApiToken, SavedSegment, WebhookSubscription
from integrations.services.tokens import api_token_create
from segmentation.models import Framework, ScoreRecord, SegmentationRun
from tests.factories import AccountFactory

# Text only team B's private objects contain. A denied read must not show it.
SECRET = "team-b-private"
METHODS = ("get", "post", "put", "patch", "delete")
# Statuses that deny a request without doing it.
DENIED = {403, 404, 405}
WATCHED_MODELS = (
    Account,
    ResearchNote,
    SegmentOverride,
    ReviewItem,
    ReviewSession,
    Violation,
    ImportRun,
    ImportCancelRequest,
    ApiToken,
    SavedSegment,
    WebhookSubscription,
    Framework,
    SegmentationRun,
    ScoreRecord,
    EnrichmentRun,
)

# URL name: the attacking roles that may GET it. Every other GET must be denied.
READABLE = {
    "accounts:account-detail": {roles.SDR, roles.SALES_MANAGER},
    "accounts:account-section": {roles.SDR, roles.SALES_MANAGER},
    "accounts:account-field": {roles.SDR, roles.SALES_MANAGER},
    # Sales Managers and Sales Ops see every import (selectors.may_see_all_imports).
    "accounts:import-detail": {roles.SALES_MANAGER},
    "accounts:import-status": {roles.SALES_MANAGER},
    "accounts:import-report": {roles.SALES_MANAGER},
    "import-run-detail": {roles.SALES_MANAGER},
    "import-run-report": {roles.SALES_MANAGER},
    # Enrichment run pages follow the import pages (may_see_all_enrichment_runs).
    "accounts:enrichment-run-detail": {roles.SALES_MANAGER},
    "accounts:enrichment-run-status": {roles.SALES_MANAGER},
    "account-detail": {roles.SDR, roles.SALES_MANAGER},
    "account-scores": {roles.SDR, roles.SALES_MANAGER},
    "account-notes": {roles.SDR, roles.SALES_MANAGER},
    # Framework versions belong to no team. Enrichment runs follow their pages.
    "framework-detail": {roles.SDR, roles.SALES_MANAGER},
    "enrichment-run-detail": {roles.SALES_MANAGER},
    # Every sales role reads an import's id, file name and counts, so that Marketing can
    # use the accounts' import_run filter. Its error, starter and rows stay private.
    "import-run-summary-detail": {roles.SDR, roles.SALES_MANAGER},
}


@dataclass
class World:
    attackers: dict[str, Any]
    owners: dict[str, Any]
    ids: dict[tuple[str, str], int | str]


@pytest.fixture
def world(teams, make_user, media_root) -> World:
    """Create one object of every kind for team B, and return the URL arguments for them."""
    sdr_b, manager_b = teams["sdr_b"], teams["manager_b"]
    sales_ops = make_user(roles.SALES_OPS, username="ops")
    framework = Framework.objects.get(status="approved")
    account = AccountFactory(name=f"Account of {SECRET}", owner=sdr_b, tag="SaaS – SMB – US")
    note = ResearchNote.objects.create(
        account=account, text=f"Note {SECRET}", author=sdr_b, status="proposed"
    )
    run = AuditRun.objects.create(month=date(2025, 11, 1), started_at=timezone.now())
    violation = Violation.objects.create(
        audit_run=run,
        account=account,
        kind="unverified_data",
        rule_code="unverified_data.not_verified",
        detail=f"Finding {SECRET}",
        severity="minor",
        responsible=sdr_b,
    )
    session = ReviewSession.objects.create(
        manager=manager_b,
        period_start=timezone.localdate() - timedelta(days=30),
        period_end=timezone.localdate(),
        sample_size=1,
        seed=1,
    )
    session.reps.add(sdr_b)
    item = ReviewItem.objects.create(
        session=session, position=1, account=account, rep=sdr_b, sampled_tag=account.tag
    )
    import_run = ImportRun.objects.create(
        source="csv", file_name=f"{SECRET}.csv", created_by=sdr_b, status="succeeded"
    )
    report = Path(settings.MEDIA_ROOT) / REPORT_FOLDER / f"run-{import_run.pk}-rejected.csv"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(f"line,name,reason\n2,{SECRET},missing domain\n", encoding="utf-8")
    ImportRun.objects.filter(pk=import_run.pk).update(report_path=str(report))
    segment = SavedSegment.objects.create(name=f"Segment {SECRET}", owner=sdr_b)
    token, _ = api_token_create(user=sdr_b, name=f"Token {SECRET}", scopes=["read"])
    webhook = WebhookSubscription.objects.create(
        name=f"Hook {SECRET}",
        url="https://hooks.example/icp",
        secret="s" * 32,
        events=["account.tier_changed"],
        created_by=sales_ops,
    )
    enrichment = EnrichmentRun.objects.create(provider="apollo", scope="accounts")
    segmentation_run = SegmentationRun.objects.create(framework=framework)

    account_id, session_id = account.pk, session.pk
    ids: dict[tuple[str, str], int | str] = {
        ("accounts", "pk"): account_id,
        ("accounts", "note_pk"): note.pk,
        ("accounts", "field"): "employees",
        ("accounts", "section"): "history",
        ("accounts:import", "pk"): import_run.pk,
        ("accounts:enrichment-run", "pk"): enrichment.pk,
        ("audits:review", "pk"): session_id,
        ("audits:review", "item_pk"): item.pk,
        ("audits:review", "position"): 1,
        ("audits:violation", "pk"): violation.pk,
        ("segmentation:run", "pk"): segmentation_run.pk,
        ("segmentation:framework", "version"): framework.version,
        ("account", "pk"): account_id,
        ("account", "account_pk"): account_id,
        ("saved-segment", "pk"): segment.pk,
        ("saved-segment", "segment_pk"): segment.pk,
        ("framework", "pk"): framework.pk,
        ("import-run", "pk"): import_run.pk,
        ("enrichment-run", "pk"): enrichment.pk,
        ("violation", "pk"): violation.pk,
        ("api-token", "pk"): token.pk,
        ("integrations:token", "pk"): token.pk,
        ("webhook", "pk"): webhook.pk,
        ("webhook", "subscription_pk"): webhook.pk,
    }
    return World(
        attackers={roles.SDR: teams["sdr_a"], roles.SALES_MANAGER: teams["manager_a"]},
        owners={"sdr": sdr_b, "manager": manager_b, "sales_ops": sales_ops},
        ids=ids,
    )


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    arguments: tuple[str, ...]
    is_api: bool


def id_routes() -> list[Route]:
    """Return the URL patterns outside the admin that take an object id or a framework version."""
    routes: list[Route] = []

    def walk(patterns, prefix: str, namespaces: list[str]) -> None:
        for pattern in patterns:
            text = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if text.startswith("admin/"):
                    continue
                spaces = namespaces + ([pattern.namespace] if pattern.namespace else [])
                walk(pattern.url_patterns, prefix + text, spaces)
                continue
            assert isinstance(pattern, URLPattern)
            full = prefix + text
            if "(?P<format>" in full or "<drf_format_suffix" in full:
                continue
            # Matches both converters such as <int:pk> and regex groups such as (?P<pk>...).
            arguments = tuple(dict.fromkeys(re.findall(r"<(?:\w+:)?(\w+)>", full)))
            if not any(name in ("pk", "version") or name.endswith("_pk") for name in arguments):
                continue
            name = ":".join([*namespaces, pattern.name or ""])
            routes.append(Route(name, full, arguments, full.startswith("/api/")))

    walk(get_resolver().url_patterns, "/", [])
    return routes


def name_has_prefix(route_name: str, prefix: str) -> bool:
    """Return True when the URL name is ``prefix`` or starts with ``prefix-`` or ``prefix:``."""
    return route_name == prefix or route_name.startswith((f"{prefix}-", f"{prefix}:"))


def argument_for(world: World, route: Route, argument: str) -> int | str:
    """Return team B's value for an argument, looked up by the longest known name prefix."""
    candidates = [
        (prefix, value)
        for (prefix, name), value in world.ids.items()
        if name == argument and name_has_prefix(route.name, prefix)
    ]
    if not candidates:
        raise LookupError(
            f"No team B object for argument {argument!r} of {route.name} ({route.route}): "
            "add one to the world fixture of this module."
        )
    return max(candidates, key=lambda candidate: len(candidate[0]))[1]


def path_of(world: World, route: Route) -> str:
    path = route.route.replace("^", "").replace("$", "")
    for argument in route.arguments:
        value = str(argument_for(world, route, argument))
        path = re.sub(rf"\(\?P<{argument}>[^)]*\)", value, path)
        path = re.sub(rf"<(?:\w+:)?{argument}>", value, path)
    return path


def snapshot() -> dict[str, list[dict]]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in WATCHED_MODELS}


def send(client, method: str, path: str, is_api: bool):
    if is_api:
        return getattr(client, method)(path, {}, content_type="application/json")
    return getattr(client, method)(path)


def test_every_id_route_is_known(world):
    routes = id_routes()
    names = {route.name for route in routes}
    assert "accounts:account-detail" in names
    assert "audits:violation-update" in names
    assert "import-run-report" in names
    for route in routes:
        path = path_of(world, route)
        match = resolve(path)
        assert not re.search(r"[<>()\[\]?]", path), path
        assert ":".join([*match.namespaces, match.url_name]) == route.name, path


@pytest.mark.parametrize("role", [roles.SDR, roles.SALES_MANAGER])
def test_other_team_cannot_write_by_id(client, world, role):
    client.force_login(world.attackers[role])
    before = snapshot()
    for route in id_routes():
        path = path_of(world, route)
        for method in METHODS:
            if method == "get":
                continue
            response = send(client, method, path, route.is_api)
            assert response.status_code in DENIED | {400, 422}, (method, path, response.status_code)
            assert snapshot() == before, (method, path)


@pytest.mark.parametrize("role", [roles.SDR, roles.SALES_MANAGER])
def test_other_team_private_reads_denied(client, world, role):
    client.force_login(world.attackers[role])
    for route in id_routes():
        path = path_of(world, route)
        response = client.get(path)
        body = b"".join(response) if response.streaming else response.content
        if role in READABLE.get(route.name, set()):
            assert response.status_code in (200, 304), (path, response.status_code)
        else:
            assert response.status_code in DENIED, (path, response.status_code)
            assert SECRET.encode() not in body, path


def test_sdr_cannot_read_other_import_through_api(client, world):
    client.force_login(world.attackers[roles.SDR])
    run_id = world.ids[("import-run", "pk")]
    detail = client.get(f"/api/v1/imports/{run_id}/")
    report = client.get(f"/api/v1/imports/{run_id}/report/")
    listing = client.get("/api/v1/imports/")
    assert detail.status_code == 404
    assert report.status_code == 404
    assert listing.status_code == 200
    assert listing.json()["results"] == []


def test_import_api_matches_import_pages(client, world, make_user):
    """Each role sees the same import runs through the API as on the import list page."""
    run_id = world.ids[("import-run", "pk")]
    own_run = ImportRun.objects.create(
        source="csv", file_name="own.csv", created_by=world.attackers[roles.SDR]
    )
    expected = {
        world.owners["sdr"]: [run_id],
        world.owners["sales_ops"]: [own_run.pk, run_id],
        world.attackers[roles.SALES_MANAGER]: [own_run.pk, run_id],
        world.attackers[roles.SDR]: [own_run.pk],
    }
    for user, run_ids in expected.items():
        client.force_login(user)
        listing = client.get("/api/v1/imports/")
        page = client.get(reverse("accounts:import-list"))
        assert listing.status_code == 200, user.username
        assert sorted(run["id"] for run in listing.json()["results"]) == sorted(run_ids)
        assert sorted(run.pk for run in page.context["runs"]) == sorted(run_ids), user.username


# Valid changes, each made once by a team B user who may make it (the control, which shows
# that the request would change data) and once by each team A attacker.
WRITES = [
    (
        "field edit",
        "sdr",
        lambda ids, account: (
            f"/accounts/{ids['account']}/fields/employees/edit/",
            {"employees": "51-200", "version": account_version(account)},
        ),
    ),
    (
        "segment edit",
        "sdr",
        lambda ids, account: (
            f"/accounts/{ids['account']}/segment/",
            {
                "tag": "FinTech – SMB – US",
                "tier": "low",
                "reason": "Only 40 employees",
                "version": account_version(account),
            },
        ),
    ),
    (
        "fit validation",
        "manager",
        lambda ids, account: (
            f"/accounts/{ids['account']}/fit/",
            {
                "decision": "refine",
                "tier": "low",
                "tag": "",
                "reason": "Discovery call",
                "version": account_version(account),
            },
        ),
    ),
    (
        "note create",
        "sdr",
        lambda ids, account: (
            f"/accounts/{ids['account']}/notes/",
            {"kind": "other", "text": "Hired a VP of Sales"},
        ),
    ),
    (
        "note review",
        "sdr",
        lambda ids, account: (
            f"/accounts/{ids['account']}/notes/{ids['note']}/review/",
            {"status": "dismissed"},
        ),
    ),
    (
        "review confirm",
        "manager",
        lambda ids, account: (
            f"/governance/review/{ids['session']}/items/{ids['item']}/confirm/",
            {"view": "card"},
        ),
    ),
    (
        "review correct",
        "manager",
        lambda ids, account: (
            f"/governance/review/{ids['session']}/items/{ids['item']}/correct/",
            {"view": "table", "tier": "low", "reason": "Too small"},
        ),
    ),
    (
        "violation resolve",
        "manager",
        lambda ids, account: (
            f"/governance/audits/violations/{ids['violation']}/",
            {f"v{ids['violation']}-status": "resolved", f"v{ids['violation']}-consequence": "none"},
        ),
    ),
]
API_WRITES = [
    ("account patch", "sdr", "patch", "/api/v1/accounts/{account}/", {"city": "Berlin"}),
    (
        "note post",
        "sdr",
        "post",
        "/api/v1/accounts/{account}/notes/",
        {"kind": "other", "text": "Opened an office in Lisbon"},
    ),
    (
        "segment post",
        "sdr",
        "post",
        "/api/v1/accounts/{account}/segment/",
        {"kind": "manual_tag", "tier": "low", "reason": "Too small"},
    ),
    ("saved segment patch", "sdr", "patch", "/api/v1/segments/saved/{segment}/", {"name": "x"}),
    ("saved segment delete", "sdr", "delete", "/api/v1/segments/saved/{segment}/", None),
    ("token delete", "sdr", "delete", "/api/v1/tokens/{token}/", None),
    ("webhook patch", "sales_ops", "patch", "/api/v1/webhooks/{webhook}/", {"is_active": False}),
    ("webhook delete", "sales_ops", "delete", "/api/v1/webhooks/{webhook}/", None),
]


def short_ids(world: World) -> dict[str, Any]:
    return {
        "account": world.ids[("accounts", "pk")],
        "note": world.ids[("accounts", "note_pk")],
        "session": world.ids[("audits:review", "pk")],
        "item": world.ids[("audits:review", "item_pk")],
        "violation": world.ids[("audits:violation", "pk")],
        "segment": world.ids[("saved-segment", "pk")],
        "token": world.ids[("api-token", "pk")],
        "webhook": world.ids[("webhook", "pk")],
    }


@pytest.mark.parametrize(("name", "owner", "request_of"), WRITES, ids=[w[0] for w in WRITES])
def test_page_write_control_by_owner(client, world, name, owner, request_of):
    ids = short_ids(world)
    path, data = request_of(ids, Account.objects.get(pk=ids["account"]))
    client.force_login(world.owners[owner])
    before = snapshot()
    response = client.post(path, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content.decode()[:500]
    assert snapshot() != before


@pytest.mark.parametrize("role", [roles.SDR, roles.SALES_MANAGER])
@pytest.mark.parametrize(("name", "owner", "request_of"), WRITES, ids=[w[0] for w in WRITES])
def test_page_write_denied_to_other_team(client, world, role, name, owner, request_of):
    ids = short_ids(world)
    path, data = request_of(ids, Account.objects.get(pk=ids["account"]))
    client.force_login(world.attackers[role])
    before = snapshot()
    response = client.post(path, data, HTTP_HX_REQUEST="true")
    assert response.status_code in (403, 404)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "owner", "method", "path", "data"), API_WRITES, ids=[w[0] for w in API_WRITES]
)
def test_api_write_control_by_owner(client, world, name, owner, method, path, data):
    client.force_login(world.owners[owner])
    before = snapshot()
    url = path.format(**short_ids(world))
    response = getattr(client, method)(url, data, content_type="application/json")
    assert response.status_code in (200, 201, 204), response.content.decode()[:500]
    assert snapshot() != before


@pytest.mark.parametrize("role", [roles.SDR, roles.SALES_MANAGER])
@pytest.mark.parametrize(
    ("name", "owner", "method", "path", "data"), API_WRITES, ids=[w[0] for w in API_WRITES]
)
def test_api_write_denied_to_other_team(client, world, role, name, owner, method, path, data):
    client.force_login(world.attackers[role])
    before = snapshot()
    url = path.format(**short_ids(world))
    response = getattr(client, method)(url, data, content_type="application/json")
    assert response.status_code in (403, 404)
    assert snapshot() == before
