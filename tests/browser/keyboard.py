"""Keyboard helpers for the browser tests."""

# True when no content carries the classes htmx sets while requesting, swapping or settling.
# A function, because Playwright evaluates an expression string with eval, which the
# portal's Content Security Policy blocks.
HTMX_IDLE = (
    "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
)


def press_enter(page) -> None:
    """Press Enter once htmx has settled the content swapped in before.

    htmx binds the links of new content as it settles it, so Enter pressed on a link
    before that follows it as a full page load.
    """
    page.wait_for_function(HTMX_IDLE)
    page.keyboard.press("Enter")
