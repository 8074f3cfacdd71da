import pytest

from accounts.templatetags.account_tags import duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (30, "30 seconds"),
        (119, "119 seconds"),
        (120, "2 minutes"),
        (600, "10 minutes"),
        (90 * 60, "90 minutes"),
        (2 * 3600, "2 hours"),
        (3600 * 1.5 + 3600, "2.5 hours"),
    ],
)
def test_duration_in_words(seconds, text):
    assert duration(seconds) == text
