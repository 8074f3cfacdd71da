"""The API tokens page: each user lists, creates and revokes their own tokens."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.views import View

from accounts.api.permissions import SEGMENT_SAVING_ROLES, allowed_token_scopes, roles_listed
from accounts.views.base import AccountViewerRequiredMixin
from icp_portal.submissions import created_object_id, created_object_remember
from integrations.models import ApiToken
from integrations.services.tokens import api_token_create, api_token_revoke

# Session key that maps the id of each recently sent create form to its token's id.
CREATED_FROM_SESSION_KEY = "api_token_created_from"

SCOPE_LABELS = {
    "read": "Read: pull accounts and segments",
    "segments": "Read and save segments: also create, change and delete your own saved segments",
    "write": "Read and write: also change accounts and save segments",
}
# The scopes that each Access choice stores. A write token is stored without "segments",
# which it grants anyway.
ACCESS_SCOPES = {
    "read": ["read"],
    "segments": ["read", "segments"],
    "write": ["read", "write"],
}


def access_help_text(scopes: set[str]) -> str:
    """Return the help text of the Access choices that a role with these scopes is offered."""
    if "write" in scopes:
        return (
            "Saving segments needs “Read and save segments” or “Read and write”. Choose "
            "“Read and save segments” for a tool that saves segments and must not change "
            "accounts."
        )
    if "segments" in scopes:
        return (
            "Saving segments needs “Read and save segments”. Your role cannot change "
            "accounts, tags, notes or imports, so no token of yours can."
        )
    saving_roles = roles_listed(SEGMENT_SAVING_ROLES)
    return f"Your role only reads, so its tokens only read. {saving_roles} may save segments."


class ExpiryField(forms.DateTimeField):
    """A date and time in the server's time zone, whose error names the value and format."""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except ValidationError as error:
            raise ValidationError(
                f"“{value}” is not a date and time: enter it as YYYY-MM-DD HH:MM in "
                f"{settings.TIME_ZONE}, such as 2027-01-31 18:00, or leave it empty.",
                code="invalid",
            ) from error


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What the token is for, such as “HubSpot sync”.",
    )
    # form-check-input keeps a label that wraps beside its radio button.
    access = forms.ChoiceField(
        label="Access", widget=forms.RadioSelect(attrs={"class": "form-check-input"})
    )
    expires_at = ExpiryField(
        required=False,
        label="Expires",
        help_text=(
            f"Optional, as YYYY-MM-DD HH:MM in {settings.TIME_ZONE}. Leave empty for a token "
            "without expiry."
        ),
    )
    # A new id per rendered form, so that sending the same form again (reload, back
    # button, double click) is recognized and creates no second token.
    form_id = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)

    def __init__(self, *args: Any, scopes: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["form_id"].initial = uuid.uuid4().hex
        choices = [(access, label) for access, label in SCOPE_LABELS.items() if access in scopes]
        self.fields["access"].choices = choices
        self.fields["access"].help_text = access_help_text(scopes)
        self.fields["access"].initial = "read"


class TokenListView(AccountViewerRequiredMixin, View):
    template_name = "integrations/tokens.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, self.form(request))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form(request, data=request.POST)
        if not form.is_valid():
            return self.render(request, form, status=400)
        form_id = form.cleaned_data["form_id"]
        token_pk = created_object_id(request.session, CREATED_FROM_SESSION_KEY, form_id)
        if token_pk is not None:
            return self.render_repeated(request, token_pk)
        scopes = ACCESS_SCOPES[form.cleaned_data["access"]]
        try:
            token, key = api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=scopes,
                expires_at=form.cleaned_data["expires_at"],
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error("expires_at" if field == "expires_at" else None, errors)
            return self.render(request, form, status=400)
        created_object_remember(request.session, CREATED_FROM_SESSION_KEY, form_id, token.pk)
        response = self.render(request, self.form(request), new_token=token, new_key=key)
        # The page contains the key, so the browser must not keep it for the back button.
        patch_cache_control(response, no_store=True)
        return response

    def render_repeated(self, request: HttpRequest, token_pk: int) -> HttpResponse:
        """Redirect to the token list, saying that this form already created its token."""
        token = ApiToken.objects.filter(pk=token_pk, user_id=request.user.pk).first()
        name = f"“{token.name}” ({token.key_prefix}…)" if token else "a token"
        messages.info(
            request,
            f"This form was already sent and created {name}, so no other token was created. "
            "Its key is shown only once: if you did not copy it, revoke that token and "
            "create a new one.",
        )
        return redirect("integrations:token-list")

    def form(self, request: HttpRequest, data: Any = None) -> TokenCreateForm:
        return TokenCreateForm(data, scopes=allowed_token_scopes(request.user))

    def render(
        self, request: HttpRequest, form: TokenCreateForm, status: int = 200, **extra: Any
    ) -> HttpResponse:
        tokens = ApiToken.objects.filter(user_id=request.user.pk).order_by("-created_at")
        context = {"form": form, "tokens": tokens, **extra}
        return render(request, self.template_name, context, status=status)


class TokenRevokeView(AccountViewerRequiredMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        token = get_object_or_404(ApiToken, pk=pk, user_id=request.user.pk)
        api_token_revoke(token)
        messages.success(request, f"Token “{token.name}” ({token.key_prefix}…) is revoked.")
        return redirect("integrations:token-list")
