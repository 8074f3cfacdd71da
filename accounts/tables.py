"""Columns of the account list table and the state of its sortable headers."""

from dataclasses import dataclass

# Order of the list when the URL has no ordering parameter. It matches account_list_base.
DEFAULT_ORDERING = "name"

PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class Column:
    """One column of the account table.

    ``ordering`` is the ordering parameter the header sorts by, empty for a column that
    cannot be sorted. Columns with ``descending_first`` sort high values first on the
    first click, as users expect for scores and tiers.
    """

    key: str
    label: str
    ordering: str = ""
    descending_first: bool = False
    numeric: bool = False
    # Bootstrap classes of the header and cells, such as those that hide a column on
    # narrow screens.
    css_class: str = ""
    # Tooltip of the sort link, for a column whose sort order is not what it shows.
    sort_hint: str = ""


@dataclass(frozen=True)
class HeaderCell:
    """A rendered header: the ordering its link requests and its current sort state."""

    column: Column
    sort_value: str
    aria_sort: str

    @property
    def is_sorted(self) -> bool:
        return self.aria_sort != "none"


ACCOUNT_COLUMNS = (
    Column("name", "Name", ordering="name"),
    # Below 1,400 px the domain moves under the name, so the table fits a laptop screen.
    Column("domain", "Domain", ordering="domain", css_class="d-none d-xxl-table-cell"),
    Column("industry", "Industry", ordering="industry"),
    Column("size_band", "Size band", ordering="size_band"),
    Column("geography", "Geography", ordering="geography"),
    Column("tag", "Tag", ordering="tag"),
    Column("tier", "Tier", ordering="tier", descending_first=True),
    Column("score", "Score", ordering="score", descending_first=True, numeric=True),
    Column(
        "owner",
        "Owner",
        ordering="owner",
        sort_hint="Sorts by last name, then first name; unassigned accounts come last.",
    ),
    Column("needs_enrichment", "Enrichment", ordering="needs_enrichment", descending_first=True),
)


def page_size_from(raw: str | None) -> int:
    """Return the requested page size when it is one of PAGE_SIZES, else the default."""
    try:
        size = int(raw or "")
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


def header_cells(columns: tuple[Column, ...], ordering: list[str]) -> list[HeaderCell]:
    """Build the header of each column from the current ordering parameters.

    Only the first ordering parameter counts as the sorted column. Clicking a sorted
    header reverses its direction. Clicking another header sorts by that column alone.
    """
    primary = ordering[0] if ordering else DEFAULT_ORDERING
    cells = []
    for column in columns:
        ascending = column.ordering
        descending = f"-{column.ordering}"
        if not column.ordering:
            cell = HeaderCell(column, sort_value="", aria_sort="none")
        elif primary == ascending:
            cell = HeaderCell(column, sort_value=descending, aria_sort="ascending")
        elif primary == descending:
            cell = HeaderCell(column, sort_value=ascending, aria_sort="descending")
        else:
            first = descending if column.descending_first else ascending
            cell = HeaderCell(column, sort_value=first, aria_sort="none")
        cells.append(cell)
    return cells
