from django import forms
from django.contrib import admin

from accounts.normalizers import industry_key

from .models import (
    Criterion,
    Framework,
    GeographyMapping,
    Industry,
    IndustrySynonym,
    ScoreRecord,
    SegmentationRun,
    SizeBand,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Admin for records the segmentation engine writes: viewable, never edited by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class IndustrySynonymForm(forms.ModelForm):
    """Derive the lookup key from the value and reject a key another synonym already has."""

    class Meta:
        model = IndustrySynonym
        fields = ("value", "vocabulary")

    def clean(self) -> dict:
        cleaned = super().clean()
        value = cleaned.get("value")
        if not value:
            return cleaned
        key = industry_key(value)
        if not key:
            self.add_error("value", "This label has no letters or digits: enter an industry name.")
            return cleaned
        clash = (
            IndustrySynonym.objects.filter(key=key)
            .exclude(pk=self.instance.pk)
            .select_related("industry")
            .first()
        )
        if clash is not None:
            self.add_error(
                "value",
                f"{value!r} matches the existing synonym {clash.value!r} of {clash.industry}: "
                "edit or delete that synonym instead.",
            )
        self.instance.key = key
        return cleaned


class IndustrySynonymInline(admin.TabularInline):
    model = IndustrySynonym
    form = IndustrySynonymForm
    fields = ("value", "key", "vocabulary")
    readonly_fields = ("key",)
    extra = 0


@admin.register(Industry)
class IndustryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "description")
    search_fields = ("name", "slug", "synonyms__value")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [IndustrySynonymInline]


class CriterionInline(admin.TabularInline):
    model = Criterion
    fields = (
        "position",
        "dimension",
        "label",
        "operator",
        "values",
        "min_value",
        "max_value",
        "weight",
        "is_must_have",
        "is_disqualifier",
        "unknown_policy",
    )
    extra = 0


class SizeBandInline(admin.TabularInline):
    model = SizeBand
    fields = (
        "position",
        "name",
        "min_employees",
        "max_employees",
        "min_revenue_usd",
        "max_revenue_usd",
    )
    extra = 0


class GeographyMappingInline(admin.TabularInline):
    model = GeographyMapping
    fields = ("country", "region", "label")
    extra = 0


@admin.register(Framework)
class FrameworkAdmin(admin.ModelAdmin):
    list_display = ("version", "name", "status", "approved_by", "approved_at")
    list_filter = ("status",)
    search_fields = ("name", "summary")
    readonly_fields = ("created_at", "updated_at")
    raw_id_fields = ("based_on", "created_by", "submitted_by", "approved_by")
    inlines = [CriterionInline, SizeBandInline, GeographyMappingInline]


@admin.register(SegmentationRun)
class SegmentationRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "framework",
        "kind",
        "status",
        "processed",
        "total",
        "moved",
        "unchanged",
        "failed",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", "kind")
    list_select_related = ("framework",)


@admin.register(ScoreRecord)
class ScoreRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "framework", "score", "tier", "tag", "route", "created_at")
    list_filter = ("tier", "needs_enrichment")
    search_fields = ("account__name", "tag")
    list_select_related = ("account", "framework")
