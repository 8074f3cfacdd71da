"""Map source industry labels to the canonical taxonomy through stored synonyms."""

from accounts.normalizers.text import industry_key

from .models import Industry, IndustrySynonym


class IndustryResolver:
    """An in-memory copy of the synonym table, loaded once per import or run.

    A label matches when its ``industry_key`` equals a synonym's key or the key of a
    canonical industry name. Unmatched labels return None and are kept raw by callers.
    """

    def __init__(self, key_to_industry_id: dict[str, int]) -> None:
        self._key_to_industry_id = key_to_industry_id

    @classmethod
    def load(cls) -> "IndustryResolver":
        mapping = {
            industry_key(name): industry_id
            for industry_id, name in Industry.objects.values_list("id", "name")
        }
        mapping.update(IndustrySynonym.objects.values_list("key", "industry_id"))
        return cls(mapping)

    def resolve(self, raw: str | None) -> int | None:
        """Return the canonical industry id for a source label, or None when unmapped."""
        if not raw:
            return None
        return self._key_to_industry_id.get(industry_key(raw))

    def resolve_first(self, labels: list[str]) -> tuple[int | None, str]:
        """Resolve the most specific label that maps, trying ``labels`` in order.

        Returns the industry id (or None) and the label that matched, or the first
        non-empty label when none matched, so callers keep the raw value.
        """
        first_label = ""
        for label in labels:
            if not label:
                continue
            first_label = first_label or label
            industry_id = self.resolve(label)
            if industry_id is not None:
                return industry_id, label
        return None, first_label
