"""Set the change channel of each request from its path."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .history import Channel, change_channel


class ChangeChannelMiddleware:
    """Mark history rows written by a request as admin, API or page changes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/admin/"):
            channel = Channel.ADMIN
        elif request.path.startswith("/api/"):
            channel = Channel.API
        else:
            channel = Channel.PAGE
        with change_channel(channel):
            return self.get_response(request)
