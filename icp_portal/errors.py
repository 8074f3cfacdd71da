"""Error pages of the portal: the 404 handler that shows a user-facing message, and the
400 handler that explains a form with too many fields or files, or a body that is too large.

Django's default handlers serve 403.html and 500.html. The 400 and 500 pages render
without a request or context processors, so those templates stand alone.
"""

import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template import loader
from django.urls import reverse

# Messages of the Http404 that Django raises itself, such as get_object_or_404 and
# DetailView. They name a model instead of telling the user what to do, so the page
# leaves them out.
DJANGO_NOT_FOUND_MESSAGES = (
    re.compile(r"No .+ matches the given query\.?"),
    re.compile(r"No .+ found matching the query\.?"),
)


def user_facing_message(exception: Exception | None) -> str:
    """Return the exception's message when it is text written for the user, else ""."""
    args = getattr(exception, "args", ())
    message = args[0] if args else None
    # Resolver404 carries a dict of the URL patterns tried, which is for developers.
    if not isinstance(message, str):
        return ""
    message = message.strip()
    if any(pattern.fullmatch(message) for pattern in DJANGO_NOT_FOUND_MESSAGES):
        return ""
    return message


def back_link(request: HttpRequest) -> tuple[str, str]:
    """Return the URL and label of the page that the error page links back to."""
    if request.path.startswith(reverse("accounts:import-list")):
        return reverse("accounts:import-upload"), "Upload a file to import"
    return reverse("accounts:account-list"), "Go to the account list"


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Render 404.html in the site layout, with the message of a user-facing Http404."""
    back_url, back_label = back_link(request)
    context = {
        "message": user_facing_message(exception),
        "back_url": back_url,
        "back_label": back_label,
    }
    return render(request, "404.html", context, status=404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Render 400.html, saying which limit a form that is too large broke.

    A body over DATA_UPLOAD_MAX_MEMORY_SIZE gets status 413 Content Too Large. Like
    Django's default handler it renders the template without the request, so a broken
    request cannot break the error page too.
    """
    from accounts.importing.uploads import size_label
    from accounts.workspace.bulk import MAX_BULK_ACCOUNTS

    context = {}
    status = 400
    if isinstance(exception, TooManyFieldsSent):
        context = {
            "max_fields": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
            "max_bulk_accounts": MAX_BULK_ACCOUNTS,
        }
    elif isinstance(exception, TooManyFilesSent):
        context = {"max_files": settings.DATA_UPLOAD_MAX_NUMBER_FILES}
    elif isinstance(exception, RequestDataTooBig):
        context = {"max_body": size_label(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}
        status = 413
    return HttpResponseBadRequest(loader.get_template("400.html").render(context), status=status)
