"""Technology lists (tech stack columns of enrichment exports).

``normalize_technologies`` accepts a string, an iterable of strings or None. Strings are
split on ``,``, ``;``, ``|``, line breaks and bullet characters (``•``, ``·``, ``▪``, ``‣``,
``◦``). The semicolon that ends an HTML character reference (``&amp;``, ``&#38;``) is
not a separator, so ``AT&amp;T Cloud`` stays one item. After the split, each item's
references are decoded (``decode_character_references``), so ``AT&amp;T`` from a CSV
cell and ``AT&T`` from HTML are one name, and a literal ``&`` stays as it is. A caller
that decodes HTML text first turns ``&#59;`` into a separator, so it must split the text
itself, as enrichment.profiles does. Each item loses a leading list marker (``* ``,
``- ``, ``+ ``, ``1. ``), Markdown emphasis and code quotes. A Markdown link
``[PHP](https://php.net)`` becomes its text, ``PHP``. Items that are only a URL are dropped.

Known aliases map to one display name (``k8s`` -> ``Kubernetes``). Other items keep their
own spelling with whitespace collapsed. Placeholders such as ``n/a`` and ``-`` are dropped.
The result has no empty items and no duplicates
(compared case-insensitively, first spelling kept) and keeps the input order. Items longer
than MAX_TECHNOLOGY_LENGTH characters are cut at a word boundary, and
``long_technologies`` lists them, so that callers can reject or flag them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from html.entities import html5 as HTML5_ENTITIES

from .text import clean_text, collapse_whitespace, decode_character_references, is_missing

MAX_TECHNOLOGY_LENGTH = 64

# Keys are casefolded with whitespace collapsed.
TECHNOLOGY_ALIASES: dict[str, str] = {
    "js": "JavaScript",
    "javascript": "JavaScript",
    "java script": "JavaScript",
    "ecmascript": "JavaScript",
    "ts": "TypeScript",
    "typescript": "TypeScript",
    "python": "Python",
    "python3": "Python",
    "python 3": "Python",
    "java": "Java",
    "go": "Go",
    "golang": "Go",
    "rust": "Rust",
    "ruby": "Ruby",
    "rails": "Ruby on Rails",
    "ruby on rails": "Ruby on Rails",
    "ror": "Ruby on Rails",
    "php": "PHP",
    "c#": "C#",
    "csharp": "C#",
    "c sharp": "C#",
    "c++": "C++",
    "cpp": "C++",
    ".net": ".NET",
    "dotnet": ".NET",
    "dot net": ".NET",
    ".net core": ".NET",
    "asp.net": "ASP.NET",
    "node": "Node.js",
    "nodejs": "Node.js",
    "node.js": "Node.js",
    "node js": "Node.js",
    "react": "React",
    "react.js": "React",
    "reactjs": "React",
    "react js": "React",
    "react native": "React Native",
    "vue": "Vue.js",
    "vuejs": "Vue.js",
    "vue.js": "Vue.js",
    "angular": "Angular",
    "angularjs": "AngularJS",
    "angular.js": "AngularJS",
    "next.js": "Next.js",
    "nextjs": "Next.js",
    "django": "Django",
    "flask": "Flask",
    "laravel": "Laravel",
    "spring boot": "Spring Boot",
    "aws": "AWS",
    "amazon web services": "AWS",
    "gcp": "Google Cloud",
    "google cloud": "Google Cloud",
    "google cloud platform": "Google Cloud",
    "azure": "Microsoft Azure",
    "microsoft azure": "Microsoft Azure",
    "ms azure": "Microsoft Azure",
    "postgres": "PostgreSQL",
    "postgresql": "PostgreSQL",
    "mysql": "MySQL",
    "mongo": "MongoDB",
    "mongodb": "MongoDB",
    "redis": "Redis",
    "elasticsearch": "Elasticsearch",
    "elastic search": "Elasticsearch",
    "snowflake": "Snowflake",
    "bigquery": "BigQuery",
    "big query": "BigQuery",
    "databricks": "Databricks",
    "kafka": "Apache Kafka",
    "apache kafka": "Apache Kafka",
    "spark": "Apache Spark",
    "apache spark": "Apache Spark",
    "docker": "Docker",
    "k8s": "Kubernetes",
    "kubernetes": "Kubernetes",
    "terraform": "Terraform",
    "salesforce": "Salesforce",
    "sfdc": "Salesforce",
    "salesforce crm": "Salesforce",
    "hubspot": "HubSpot",
    "hub spot": "HubSpot",
    "hubspot crm": "HubSpot",
    "marketo": "Marketo",
    "zendesk": "Zendesk",
    "intercom": "Intercom",
    "segment": "Segment",
    "stripe": "Stripe",
    "shopify": "Shopify",
    "wordpress": "WordPress",
    "google analytics": "Google Analytics",
    "slack": "Slack",
    "jira": "Jira",
    "github": "GitHub",
    "gitlab": "GitLab",
    "ml": "Machine Learning",
    "machine learning": "Machine Learning",
    "ai": "Artificial Intelligence",
    "artificial intelligence": "Artificial Intelligence",
    "tensorflow": "TensorFlow",
    "pytorch": "PyTorch",
    "html": "HTML",
    "html5": "HTML",
    "css": "CSS",
    "css3": "CSS",
    "sql": "SQL",
    "graphql": "GraphQL",
    "swift": "Swift",
    "kotlin": "Kotlin",
    "objective-c": "Objective-C",
    "objective c": "Objective-C",
    "objc": "Objective-C",
    "scala": "Scala",
    "ios": "iOS",
    "android": "Android",
    "linux": "Linux",
}

_MARKDOWN_LINK_RE = re.compile(r"!?\[(?P<text>[^\[\]]*)\]\([^()\s]*\)")
_SEPARATOR_RE = re.compile(r"[,;|\n•·▪‣◦]")
# A numeric or named HTML character reference at the end of the text, without its
# semicolon. A name counts only when the HTML5 entity table has it, so "AT&T;Jira" still
# splits after "AT&T".
_REFERENCE_BEFORE_RE = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|(?P<name>[A-Za-z][A-Za-z0-9]{0,31}))$"
)
_BULLET_RE = re.compile(r"[*\-+]\s+|\d{1,3}[.)]\s+")
_EMPHASIS_RE = re.compile(r"^[*_`]+|[*_`]+$")
_URL_ONLY_RE = re.compile(r"<?(?:[a-z][a-z0-9+.\-]*://|www\.)\S*", re.IGNORECASE)


def normalize_technologies(raw: str | Iterable[str | None] | None) -> list[str]:
    """Split, clean, canonicalize and de-duplicate a technology list.

    See the module docstring for the accepted forms. Never raises for str input or
    iterables of strings. None items of an iterable are skipped.
    """
    if raw is None:
        return []
    values = [raw] if isinstance(raw, str) else [value for value in raw if value is not None]

    technologies: list[str] = []
    seen: set[str] = set()
    for value in values:
        text = _MARKDOWN_LINK_RE.sub(r"\g<text>", clean_text(str(value)))
        for item in _split_items(text):
            technology = _canonical_technology(item)
            if not technology:
                continue
            key = technology.casefold()
            if key not in seen:
                seen.add(key)
                technologies.append(technology)
    return technologies


def long_technologies(raw: str | Iterable[str | None] | None) -> list[str]:
    """Return the names that normalize_technologies would cut, uncut and in input order."""
    if raw is None:
        return []
    values = [raw] if isinstance(raw, str) else [value for value in raw if value is not None]
    long_names: list[str] = []
    for value in values:
        text = _MARKDOWN_LINK_RE.sub(r"\g<text>", clean_text(str(value)))
        for item in _split_items(text):
            name = _technology_name(item)
            if len(name) > MAX_TECHNOLOGY_LENGTH and name not in long_names:
                long_names.append(name)
    return long_names


def technology_length_message(name: str, fix: str = "shorten it") -> str:
    """Return the error for a technology name over MAX_TECHNOLOGY_LENGTH characters."""
    shown = name if len(name) <= 100 else name[:99] + "…"
    return (
        f"“{shown}” is {len(name)} characters long, over the limit of "
        f"{MAX_TECHNOLOGY_LENGTH} for a technology name: {fix}."
    )


def _split_items(text: str) -> Iterator[str]:
    """Yield the parts of ``text`` between separators, keeping character references whole."""
    start = 0
    for separator in _SEPARATOR_RE.finditer(text):
        if separator.group() == ";" and _ends_character_reference(text[start : separator.start()]):
            continue
        yield text[start : separator.start()]
        start = separator.end()
    yield text[start:]


def _ends_character_reference(text: str) -> bool:
    """Return True when a semicolon right after ``text`` would end a character reference."""
    if "&" not in text:
        return False
    reference = _REFERENCE_BEFORE_RE.search(text[-40:])
    if reference is None:
        return False
    name = reference["name"]
    return name is None or f"{name};" in HTML5_ENTITIES


def technology_key(name: str) -> str:
    """Return the form in which technology names are compared: decoded and casefolded.

    Lists stored before references were decoded can contain ``AT&amp;T``, which this key
    equates with ``AT&T``.
    """
    return decode_character_references(name).casefold()


@lru_cache(maxsize=16384)
def _canonical_technology(item: str) -> str:
    """Return the display name of one list item, or "" when nothing is left to keep."""
    text = _technology_name(item)
    if len(text) > MAX_TECHNOLOGY_LENGTH:
        cut = text[: MAX_TECHNOLOGY_LENGTH + 1].rsplit(" ", 1)[0]
        if len(cut) > MAX_TECHNOLOGY_LENGTH or not cut:
            cut = text[:MAX_TECHNOLOGY_LENGTH]
        text = cut.rstrip()
    return text


def _technology_name(item: str) -> str:
    """Return the display name of one list item before any cut, or "" for none."""
    text = collapse_whitespace(decode_character_references(item))
    bullet = _BULLET_RE.match(text)
    if bullet is not None:
        text = text[bullet.end() :]
    text = collapse_whitespace(_EMPHASIS_RE.sub("", text))
    if is_missing(text) or _URL_ONLY_RE.fullmatch(text):
        return ""
    alias = TECHNOLOGY_ALIASES.get(text.casefold())
    if alias is not None:
        return alias
    return text
