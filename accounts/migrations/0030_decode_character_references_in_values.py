"""Decode HTML character references in stored names, industries and technologies.

Imports decode references in the company name, the industry label and each technology, so
"AT&amp;T" is stored as "AT&T". Accounts imported before still show the reference,
because 0026 recomputed only their name keys. This decodes the account's name (and
recomputes its name key), industry_raw and technologies, and the same values in the
name, industry and technologies observations, because verification copies an
observation's industry label and technologies back to the account. Raw values, history
rows and every other field stay as they are.

A value is decoded until no reference is left, so running this again changes nothing and
"&amp;amp;" becomes "&". Text without a reference, such as "R&D Labs", stays unchanged.
NOTE: the industry is not resolved again from the decoded label. Synonym keys decode
references since segmentation 0014, so the decoded label resolves as the old one did.
"""

from django.db import migrations
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from accounts.normalizers import (
    clean_company_name,
    clean_text,
    company_name_key,
    decode_character_references,
)
from accounts.normalizers.text import collapse_whitespace

BATCH_SIZE = 500
# Fields of observations whose values imports and enrichment store decoded.
OBSERVATION_FIELDS = ("name", "industry", "technologies")


def fully_decoded(text: str) -> str:
    """Decode character references until none is left, such as in "&amp;amp;"."""
    # Each pass shortens the text, so the loop ends.
    decoded = decode_character_references(text)
    while decoded != text:
        text = decoded
        decoded = decode_character_references(text)
    return decoded


def decoded_name(name: str) -> str:
    """Return the name decoded and cleaned as an import cleans it, or ``name`` unchanged.

    A reference can stand for a space or a control character, which clean_company_name
    collapses or removes. A name that would be left empty stays as it is.
    """
    decoded = fully_decoded(name)
    if decoded == name:
        return name
    return clean_company_name(decoded) or name


def decoded_label(label: str) -> str:
    """Return the industry label decoded and cleaned as an import cleans it."""
    decoded = fully_decoded(label)
    if decoded == label:
        return label
    return clean_text(decoded) or label


def decoded_technologies(technologies):
    """Return the list with each item decoded, without the duplicates that decoding makes.

    Returns the value unchanged when it is not a list or no item has a reference.
    """
    if not isinstance(technologies, list):
        return technologies
    items = []
    seen = set()
    changed = False
    for item in technologies:
        if not isinstance(item, str):
            items.append(item)
            continue
        decoded = fully_decoded(item)
        if decoded != item:
            changed = True
            decoded = collapse_whitespace(decoded)
        key = decoded.casefold()
        if not decoded or key in seen:
            changed = True
            continue
        seen.add(key)
        items.append(decoded)
    return items if changed else technologies


def _in_batches(queryset):
    """Yield lists of up to BATCH_SIZE rows in id order, each read after the last is saved."""
    last_id = 0
    while True:
        batch = list(queryset.filter(id__gt=last_id).order_by("id")[:BATCH_SIZE])
        if not batch:
            return
        yield batch
        last_id = batch[-1].id


def decode_account_values(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    max_length = Account._meta.get_field("name_key").max_length
    # Every character reference starts with "&", so other rows are not read.
    accounts = (
        Account.objects.annotate(technologies_text=Cast("technologies", TextField()))
        .filter(
            Q(name__contains="&")
            | Q(industry_raw__contains="&")
            | Q(technologies_text__contains="&")
        )
        .only("id", "name", "name_key", "industry_raw", "technologies")
    )
    for batch in _in_batches(accounts):
        changed = []
        for account in batch:
            name = decoded_name(account.name)
            industry_raw = decoded_label(account.industry_raw)
            technologies = decoded_technologies(account.technologies)
            values = (name, industry_raw, technologies)
            if values == (account.name, account.industry_raw, account.technologies):
                continue
            account.name, account.industry_raw, account.technologies = values
            account.name_key = company_name_key(name)[:max_length]
            changed.append(account)
        Account.objects.bulk_update(
            changed, ["name", "name_key", "industry_raw", "technologies"], batch_size=BATCH_SIZE
        )


def decode_observation_values(apps, schema_editor):
    Observation = apps.get_model("enrichment", "Observation")
    observations = (
        Observation.objects.filter(field__in=OBSERVATION_FIELDS)
        .annotate(value_text=Cast("value", TextField()))
        .filter(value_text__contains="&")
        .only("id", "field", "value")
    )
    for batch in _in_batches(observations):
        changed = []
        for observation in batch:
            value = _decoded_observation_value(observation.field, observation.value)
            if value != observation.value:
                observation.value = value
                changed.append(observation)
        Observation.objects.bulk_update(changed, ["value"], batch_size=BATCH_SIZE)


def _decoded_observation_value(field, value):
    if field == "name" and isinstance(value, str):
        return decoded_name(value)
    if field == "industry" and isinstance(value, dict) and isinstance(value.get("label"), str):
        return {**value, "label": decoded_label(value["label"])}
    if field == "technologies":
        return decoded_technologies(value)
    return value


def decode_values(apps, schema_editor):
    decode_account_values(apps, schema_editor)
    decode_observation_values(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0029_unverified_label"),
        ("enrichment", "0011_enrichmentrun_queued_tasks"),
    ]

    operations = [
        migrations.RunPython(decode_values, migrations.RunPython.noop),
    ]
