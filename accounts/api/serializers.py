"""JSON representations of accounts for the REST API."""

from rest_framework import serializers

from accounts.models import Account, AccountIdentifier
from accounts.templatetags.account_tags import employee_range_label


class AccountSerializer(serializers.HyperlinkedModelSerializer):
    """An account with its firmographics and latest segmentation result."""

    url = serializers.HyperlinkedIdentityField(view_name="account-detail")
    industry = serializers.CharField(
        source="industry.name",
        read_only=True,
        allow_null=True,
        help_text="Canonical industry name; null when the raw label is unmapped.",
    )
    employee_range = serializers.SerializerMethodField(
        help_text='Head count as a label such as "201–500" or "10,001+".'
    )
    owner = serializers.CharField(
        source="owner.username",
        read_only=True,
        allow_null=True,
        help_text="Username of the owner; null when unassigned.",
    )
    framework_version = serializers.IntegerField(
        source="framework.version",
        read_only=True,
        allow_null=True,
        help_text="Framework version of the latest score; null when never scored.",
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "url",
            "name",
            "domain",
            "website",
            "country",
            "region",
            "city",
            "industry",
            "industry_raw",
            "employee_count",
            "employee_min",
            "employee_max",
            "employee_approximate",
            "employee_range",
            "annual_revenue_usd",
            "revenue_amount",
            "revenue_currency",
            "size_band",
            "geography",
            "tag",
            "tier",
            "score",
            "route",
            "needs_enrichment",
            "missing_fields",
            "framework_version",
            "scored_at",
            "owner",
            "source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_employee_range(self, account: Account) -> str:
        return employee_range_label(account)


class AccountIdentifierSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccountIdentifier
        fields = ["kind", "value"]
        read_only_fields = fields


class AccountDetailSerializer(AccountSerializer):
    """An account with the list fields plus its lists, description and identifiers."""

    identifiers = AccountIdentifierSerializer(many=True, read_only=True)

    class Meta(AccountSerializer.Meta):
        fields = [
            *AccountSerializer.Meta.fields,
            "description",
            "technologies",
            "buying_signals",
            "review_flags",
            "identifiers",
        ]
        read_only_fields = fields
