"""Pages fit laptop (1,280 px) and small (800 px) windows without sideways page scroll.

Wide tables may scroll inside their own container, but the page itself never does, the
main navigation stays on one row at 1,280 px for every role, and the account list fits
1,280 px without a cut column.
"""

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from audits.models import AuditRun, Violation
from segmentation.models import Framework
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1280, 800)
AUDIT_MONTH = date(2025, 11, 1)

# Heights of each visible top-level link of the main navigation, less its padding, in
# line heights, and the distinct tops of those links.
NAV_LINES_SCRIPT = """() => {
  const links = Array.from(
    document.querySelectorAll(".portal-navbar .navbar-nav > .nav-item > .nav-link")
  ).filter((link) => link.offsetParent !== null);
  return {
    links: links.map((link) => {
      const style = getComputedStyle(link);
      const textHeight =
        link.getBoundingClientRect().height -
        parseFloat(style.paddingTop) -
        parseFloat(style.paddingBottom);
      return { label: link.innerText.trim(), lines: textHeight / parseFloat(style.lineHeight) };
    }),
    tops: [...new Set(links.map((link) => Math.round(link.getBoundingClientRect().top)))],
  };
}"""


def make_role_user(username: str, *role_names: str, **fields):
    user = UserFactory(username=username, **fields)
    for role_name in role_names:
        user.groups.add(Group.objects.get(name=role_name))
    return user


@pytest.fixture
def morgan(migration_data):
    """A Sales Manager who is also Sales Ops and staff, so every link of the menu shows."""
    return make_role_user(
        "morgan",
        roles.SALES_MANAGER,
        roles.SALES_OPS,
        first_name="Morgan",
        last_name="Lee-Okafor",
        is_staff=True,
    )


@pytest.fixture
def wide_content(morgan):
    """Create accounts and an audit whose values make their tables as wide as real data."""
    owner = make_role_user(
        "alexandra", roles.SDR, first_name="Alexandra", last_name="Montgomery-Fitzgerald"
    )
    framework = Framework.objects.get(status="approved")
    for index in range(3):
        AccountFactory(
            name=f"Northwind Precision Manufacturing Holdings International {index}",
            domain=f"northwind-precision-manufacturing-holdings-{index}.example",
            industry=None,
            industry_raw="Specialty Industrial Machinery and Equipment Manufacturing",
            tag="Industrial Machinery – Mid-Market – North America",
            tag_override="Industrial Machinery – Mid-Market – North America",
            tier="medium",
            tier_override="medium",
            score=47,
            owner=owner,
            framework=framework,
            needs_enrichment=True,
            missing_fields=["industry", "company_size", "geography"],
        )
    run = AuditRun.objects.create(month=AUDIT_MONTH, status="succeeded", started_at=timezone.now())
    for severity in ("severe", "moderate", "minor"):
        Violation.objects.create(
            audit_run=run,
            account=AccountFactory(name=f"Harbor Analytics {severity}", owner=owner),
            kind="unverified_data",
            rule_code="unverified_data.not_verified",
            detail="Tagged while verification is not yet verified.",
            severity=severity,
            responsible=owner,
        )
    return run


def page_width_urls() -> list[str]:
    month = f"{AUDIT_MONTH:%Y-%m}"
    return [
        reverse("accounts:account-list"),
        reverse("audits:audit-report", args=[month]),
        reverse("audits:audit-run-list"),
        reverse("audits:review-session-list"),
        reverse("audits:review-correction-list"),
        reverse("audits:dashboard"),
        reverse("audits:trail"),
        reverse("audits:training-list"),
        reverse("audits:quarterly-report-current"),
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_pages_fit_window_width(page, login, live_server, wide_content, width):
    page.set_viewport_size({"width": width, "height": 900})
    login("morgan")

    for url in page_width_urls():
        page.goto(f"{live_server.url}{url}")
        page_width = page.evaluate("document.documentElement.scrollWidth")
        window_width = page.evaluate("window.innerWidth")
        assert page_width <= window_width, f"{url} is {page_width} px wide at {width} px"


@pytest.mark.parametrize(
    ("username", "role_names"),
    [
        ("sdr-user", (roles.SDR,)),
        ("ae-user", (roles.AE,)),
        ("manager-user", (roles.SALES_MANAGER,)),
        ("ops-user", (roles.SALES_OPS,)),
        ("marketing-user", (roles.MARKETING,)),
        ("leadership-user", (roles.SALES_LEADERSHIP,)),
        ("morgan", (roles.SALES_MANAGER, roles.SALES_OPS)),
    ],
)
def test_nav_fits_one_row_at_1280(page, login, live_server, morgan, username, role_names):
    make_role_user(username, *role_names, first_name="Priya", last_name="Natarajan")
    page.set_viewport_size({"width": 1280, "height": 800})
    login(username)
    page.goto(f"{live_server.url}{reverse('accounts:account-list')}")

    measured = page.evaluate(NAV_LINES_SCRIPT)

    assert measured["links"], "the navigation shows no link"
    for link in measured["links"]:
        assert link["lines"] < 1.5, f"“{link['label']}” takes {link['lines']:.1f} lines"
    assert len(measured["tops"]) == 1, f"the links sit on {len(measured['tops'])} rows"


def test_nav_labels_whole_at_800(page, login, live_server, morgan):
    page.set_viewport_size({"width": 800, "height": 900})
    login("morgan")
    page.goto(f"{live_server.url}{reverse('accounts:account-list')}")
    page.locator(".navbar-toggler").click()
    page.locator("#main-nav.show").wait_for()

    measured = page.evaluate(NAV_LINES_SCRIPT)

    assert measured["links"], "the opened menu shows no link"
    for link in measured["links"]:
        assert link["lines"] < 1.5, f"“{link['label']}” takes {link['lines']:.1f} lines"


def test_account_list_fits_1280(page, login, live_server, wide_content):
    page.set_viewport_size({"width": 1280, "height": 900})
    login("morgan")
    page.goto(f"{live_server.url}{reverse('accounts:account-list')}")

    table = page.locator("#account-results table")
    table_width = table.evaluate("e => e.getBoundingClientRect().width")
    container_width = table.evaluate("e => e.parentElement.clientWidth")
    assert table.locator("tbody tr").count() == 6
    assert table_width <= container_width, (
        f"the table is {table_width:.0f} px wide in a {container_width} px container"
    )


def test_account_list_hand_set_marks_visible_1280(page, login, live_server, wide_content):
    page.set_viewport_size({"width": 1280, "height": 900})
    login("morgan")
    page.goto(f"{live_server.url}{reverse('accounts:account-list')}")

    # Each mark's box and the box of the cell that shows it, less the cell's padding.
    boxes = page.evaluate(
        """() => Array.from(document.querySelectorAll("[data-testid=hand-set]")).map((mark) => {
            const cell = mark.closest("td");
            const style = getComputedStyle(cell);
            const markBox = mark.getBoundingClientRect();
            const cellBox = cell.getBoundingClientRect();
            return {
                left: markBox.left,
                right: markBox.right,
                top: markBox.top,
                cellLeft: cellBox.left + parseFloat(style.paddingLeft),
                cellRight: cellBox.right - parseFloat(style.paddingRight),
                cellTop: cellBox.top,
            };
        })"""
    )
    legend = page.locator("[data-testid=hand-set-legend]")

    assert len(boxes) == 6, "each of the 3 wide accounts has a tag and a tier set by hand"
    for box in boxes:
        assert box["left"] >= box["cellLeft"] - 0.5, "a mark starts outside its cell"
        assert box["right"] <= box["cellRight"] + 0.5, "a mark is cut off at its cell's end"
        assert box["top"] >= box["cellTop"], "a mark sits above its cell"
    assert legend.is_visible()


def test_account_list_name_stays_visible_800(page, login, live_server, wide_content):
    page.set_viewport_size({"width": 800, "height": 900})
    login("morgan")
    page.goto(f"{live_server.url}{reverse('accounts:account-list')}")
    table = page.locator("#account-results table")
    name_link = table.locator("tbody tr").first.locator(".cell-name a")
    left_before = name_link.evaluate("e => e.getBoundingClientRect().left")

    table.evaluate("e => { e.parentElement.scrollLeft = e.parentElement.scrollWidth; }")

    scrolled = table.evaluate("e => e.parentElement.scrollLeft")
    left_after = name_link.evaluate("e => e.getBoundingClientRect().left")
    assert scrolled > 0, "the table fits 800 px, so this test checks nothing"
    assert left_after == left_before, "the name column scrolls out of view"
    assert name_link.get_attribute("title") == name_link.inner_text()


@pytest.mark.parametrize("width", WIDTHS)
def test_import_preview_problems_wrap(page, login, live_server, tmp_path, settings, width):
    settings.MEDIA_ROOT = tmp_path / "media"
    make_role_user("sam", roles.SDR, first_name="Sam", last_name="Reyes")
    export = tmp_path / "long-values.csv"
    export.write_text(
        "Company Name,Website,Industry,Employees,Annual Revenue,Country\n"
        '"=HYPERLINK(""http://evil.example"",""click"")",evil1.example,Software,50,1000000,US\n'
        "Präzisionsmaschinenbau-und-Anlagentechnik-Holding,pmah.example,Software,10,10,DE\n"
        "Huge Co,huge.example,Software,99999999999999999999999,1e308,US\n"
        f"{'X' * 5000},,,,,\n"
        "Bad Country,bc.example,Software,10,10,Narnia\n",
        encoding="utf-8",
    )
    page.set_viewport_size({"width": width, "height": 900})
    login("sam")
    page.goto(f"{live_server.url}{reverse('accounts:import-upload')}")
    page.set_input_files("#id_file", str(export))
    page.click("[data-testid=upload]")
    page.click("text=Preview rows")
    preview = page.get_by_test_id("preview")
    preview.wait_for()

    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= width, f"the preview page is {page_width} px wide"
    assert preview.locator("[data-testid=preview-row]").count() == 5
    assert "5000 characters" in preview.inner_text()
    # At 800 px the table may scroll inside its container, but at 1,280 px it fits.
    if width == 1280:
        table_width = preview.evaluate("e => e.getBoundingClientRect().width")
        container_width = preview.evaluate("e => e.parentElement.clientWidth")
        assert table_width <= container_width, (
            f"the preview is {table_width:.0f} px wide in a {container_width} px container"
        )
