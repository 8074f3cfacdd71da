"""Company enrichment sources behind one interface: ``get_provider(name).lookup(domain)``.

Each source returns a CompanyFacts or raises a ProviderError subclass. The adapters only
read from the sources and never write to the database.
"""

from __future__ import annotations

from importlib import import_module

from enrichment.providers.base import (
    CompanyFacts,
    CompanyNotFound,
    FundingInfo,
    InvalidDomain,
    LookupPending,
    Provider,
    ProviderAuthError,
    ProviderError,
    ProviderNotConfigured,
    ProviderQuotaExceeded,
    ProviderRateLimited,
    ProviderUnavailable,
    ResponseTooLarge,
)

# Source id -> "module:class". Imported on first use, so importing this package stays cheap.
PROVIDER_CLASSES: dict[str, str] = {
    "apollo": "enrichment.providers.apollo:ApolloProvider",
    "clearbit": "enrichment.providers.clearbit:ClearbitProvider",
    "zoominfo": "enrichment.providers.zoominfo:ZoomInfoProvider",
    "website": "enrichment.website:WebsiteProvider",
}


def get_provider(name: str) -> Provider:
    """Return a new provider instance for a source id such as ``"apollo"``.

    Raises KeyError naming the known sources for an unknown id.
    """
    try:
        path = PROVIDER_CLASSES[name]
    except KeyError:
        known = ", ".join(sorted(PROVIDER_CLASSES))
        raise KeyError(f"unknown enrichment source {name!r}: use one of {known}") from None
    module_name, class_name = path.split(":")
    provider_class = getattr(import_module(module_name), class_name)
    return provider_class()


__all__ = [
    "PROVIDER_CLASSES",
    "CompanyFacts",
    "CompanyNotFound",
    "FundingInfo",
    "InvalidDomain",
    "LookupPending",
    "Provider",
    "ProviderAuthError",
    "ProviderError",
    "ProviderNotConfigured",
    "ProviderQuotaExceeded",
    "ProviderRateLimited",
    "ProviderUnavailable",
    "ResponseTooLarge",
    "get_provider",
]
