"""A 403 is logged in one line, without the traceback of its PermissionDenied."""

import logging

from accounts import roles


def test_page_403_logged_without_traceback(client, make_user, caplog):
    client.force_login(make_user(roles.MARKETING, username="marketing"))

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/governance/audits/")

    assert response.status_code == 403
    records = [record for record in caplog.records if record.name == "django.request"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert records[0].getMessage() == "Forbidden (Permission denied): /governance/audits/"
    assert records[0].exc_info is None
    assert "Traceback" not in caplog.text


def test_server_error_keeps_traceback(caplog):
    # Other exceptions logged by django.request keep their traceback.
    logger = logging.getLogger("django.request")
    with caplog.at_level(logging.ERROR, logger="django.request"):
        try:
            raise ValueError("broken")
        except ValueError:
            logger.exception("Internal Server Error: /boom/")

    assert caplog.records[-1].exc_info is not None
    assert "Traceback" in caplog.text
