"""Technology detection from a web page's HTML and response headers.

Two sources are combined:

- the Wappalyzer fingerprints bundled with the ``wappalyzer-python3`` package (about 1,400
  technologies, loaded from the package's own ``technologies.json``, never downloaded),
  when that package is installed;
- SIGNATURES below, a small table of web, marketing and sales tools that always runs.
  Its names follow the Wappalyzer spelling, so both sources name a tool the same way.

``detect_technologies`` returns the names in a stable order without duplicates.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import unescape
from typing import Any

from accounts.normalizers import normalize_technologies

logger = logging.getLogger(__name__)

# NOTE: Wappalyzer runs about 1,400 regular expressions over the HTML. On a 1.9 MB page
# that took 8 s on a 2-core development machine, so only the first 256 KB, which contain
# the head and most script tags, go to it. The signature table reads the whole page.
WAPPALYZER_HTML_LIMIT = 256 * 1024


@dataclass(frozen=True)
class Signature:
    """Patterns that each identify one technology; any single match is enough.

    ``headers`` pairs a lower-case header name with a regular expression for its value,
    where ``""`` matches any value. ``cookies`` are patterns for cookie names.
    """

    name: str
    html: tuple[str, ...] = ()
    scripts: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[str, ...] = ()
    generator: str = ""


SIGNATURES: tuple[Signature, ...] = (
    Signature(
        "WordPress",
        html=(r"/wp-(?:content|includes)/",),
        headers=(("link", r"api\.w\.org"),),
        generator=r"^WordPress",
    ),
    Signature(
        "Drupal", headers=(("x-drupal-cache", ""), ("x-generator", r"Drupal")), generator=r"^Drupal"
    ),
    Signature("Joomla", generator=r"Joomla"),
    Signature("Shopify", scripts=(r"cdn\.shopify\.com",), headers=(("x-shopid", ""),)),
    Signature("Wix", headers=(("x-wix-request-id", ""),), generator=r"Wix\.com"),
    Signature("Squarespace", html=(r"static1\.squarespace\.com",), generator=r"Squarespace"),
    Signature("Webflow", html=(r"data-wf-(?:site|page)=",), generator=r"Webflow"),
    Signature(
        "HubSpot",
        scripts=(r"js\.hs-scripts\.com", r"js\.hsforms\.net", r"js\.hs-analytics\.net"),
        cookies=(r"^hubspotutk$",),
    ),
    Signature("Marketo", scripts=(r"munchkin\.marketo\.net",), html=(r"\bmktoForm_\d+",)),
    Signature("Pardot", scripts=(r"pi\.pardot\.com",), html=(r"\bpiAId\s*=",)),
    Signature("Salesforce", html=(r"webto\.salesforce\.com", r"\.my\.salesforce\.com")),
    Signature(
        "Intercom",
        scripts=(r"widget\.intercom\.io", r"js\.intercomcdn\.com"),
        html=(r"intercomSettings",),
    ),
    Signature("Drift", scripts=(r"js\.driftt\.com",)),
    Signature("Zendesk", scripts=(r"static\.zdassets\.com",)),
    Signature("Segment", scripts=(r"cdn\.segment\.com/analytics\.js",)),
    Signature(
        "Google Analytics",
        scripts=(r"google-analytics\.com/(?:analytics|ga)\.js", r"googletagmanager\.com/gtag/js"),
    ),
    Signature(
        "Google Tag Manager",
        scripts=(r"googletagmanager\.com/gtm\.js",),
        html=(r"googletagmanager\.com/(?:gtm\.js|ns\.html)",),
    ),
    Signature("Hotjar", scripts=(r"static\.hotjar\.com",), html=(r"static\.hotjar\.com",)),
    Signature("Mixpanel", scripts=(r"cdn\.mxpnl\.com",)),
    Signature("Optimizely", scripts=(r"cdn\.optimizely\.com",)),
    Signature(
        "Linkedin Insight Tag",
        scripts=(r"snap\.licdn\.com/li\.lms-analytics",),
        html=(r"_linkedin_partner_id",),
    ),
    Signature("Facebook", html=(r"connect\.facebook\.net/[^/\"']+/fbevents\.js",)),
    Signature("Calendly", scripts=(r"assets\.calendly\.com",)),
    Signature("Stripe", scripts=(r"js\.stripe\.com",)),
    Signature(
        "Next.js",
        html=(r"__NEXT_DATA__", r"/_next/static/"),
        headers=(("x-powered-by", r"Next\.js"),),
    ),
    Signature("Nuxt.js", html=(r"__NUXT__", r"/_nuxt/")),
    Signature(
        "React",
        html=(r"data-reactroot",),
        scripts=(r"react(?:-dom)?(?:\.production)?(?:\.min)?\.js",),
    ),
    Signature(
        "Vue.js",
        html=(r"\bdata-v-[0-9a-f]{8}\b",),
        scripts=(r"vue(?:\.runtime)?(?:\.global)?(?:\.min)?\.js",),
    ),
    Signature("Angular", html=(r"\bng-version=",)),
    Signature("jQuery", scripts=(r"jquery(?:[.-]\d[\w.]*)?(?:\.min)?\.js",)),
    Signature("Cloudflare", headers=(("server", r"^cloudflare"), ("cf-ray", ""))),
    Signature("Amazon Cloudfront", headers=(("x-amz-cf-id", ""), ("via", r"CloudFront"))),
    Signature("Vercel", headers=(("server", r"^Vercel"), ("x-vercel-id", ""))),
    Signature("Netlify", headers=(("server", r"^Netlify"), ("x-nf-request-id", ""))),
    Signature("Nginx", headers=(("server", r"^nginx"),)),
    Signature("Apache", headers=(("server", r"^Apache(?:/|$)"),)),
    Signature("IIS", headers=(("server", r"^Microsoft-IIS"),)),
    Signature("PHP", headers=(("x-powered-by", r"^PHP"),), cookies=(r"^PHPSESSID$",)),
    Signature(
        "Microsoft ASP.NET", headers=(("x-powered-by", r"ASP\.NET"), ("x-aspnet-version", ""))
    ),
)

_SCRIPT_SRC_RE = re.compile(r"<script\b[^>]*?\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
_GENERATOR_RE = re.compile(
    r"<meta\b(?=[^>]*\bname\s*=\s*[\"']?generator\b)[^>]*\bcontent\s*=\s*[\"']([^\"']*)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _CompiledSignature:
    name: str
    html: tuple[re.Pattern[str], ...]
    scripts: tuple[re.Pattern[str], ...]
    headers: tuple[tuple[str, re.Pattern[str] | None], ...]
    cookies: tuple[re.Pattern[str], ...]
    generator: re.Pattern[str] | None


def _compile(signature: Signature) -> _CompiledSignature:
    def patterns(sources: Iterable[str]) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(source, re.IGNORECASE) for source in sources)

    return _CompiledSignature(
        name=signature.name,
        html=patterns(signature.html),
        scripts=patterns(signature.scripts),
        headers=tuple(
            (name, re.compile(value, re.IGNORECASE) if value else None)
            for name, value in signature.headers
        ),
        cookies=patterns(signature.cookies),
        generator=re.compile(signature.generator, re.IGNORECASE) if signature.generator else None,
    )


_COMPILED = tuple(_compile(signature) for signature in SIGNATURES)


def match_signatures(html: str, headers: Mapping[str, str]) -> list[str]:
    """Return the names of the SIGNATURES entries that match the page, in table order."""
    lower_headers = {name.lower(): value for name, value in headers.items()}
    # Attribute values are read from the raw markup, so their character references
    # (such as &amp; in a query string) are decoded here.
    scripts = [unescape(src) for src in _SCRIPT_SRC_RE.findall(html)]
    generators = [unescape(generator) for generator in _GENERATOR_RE.findall(html)]
    cookies = _cookie_names(lower_headers.get("set-cookie", ""))
    found: list[str] = []
    for signature in _COMPILED:
        if _matches(signature, html, lower_headers, scripts, generators, cookies):
            found.append(signature.name)
    return found


def _matches(
    signature: _CompiledSignature,
    html: str,
    headers: Mapping[str, str],
    scripts: list[str],
    generators: list[str],
    cookies: list[str],
) -> bool:
    for name, pattern in signature.headers:
        value = headers.get(name)
        if value is not None and (pattern is None or pattern.search(value)):
            return True
    if signature.generator is not None and any(signature.generator.search(g) for g in generators):
        return True
    if any(pattern.search(src) for pattern in signature.scripts for src in scripts):
        return True
    if any(pattern.search(cookie) for pattern in signature.cookies for cookie in cookies):
        return True
    return any(pattern.search(html) for pattern in signature.html)


def _cookie_names(set_cookie: str) -> list[str]:
    # requests joins several Set-Cookie headers with ", ", which also appears inside
    # Expires dates, so only the text before each "=" that starts a cookie is read.
    return re.findall(r"(?:^|,\s*)([^=;,\s]+)=", set_cookie)


_wappalyzer: Any = None
_wappalyzer_loaded = False
_wappalyzer_lock = threading.Lock()


def wappalyzer_available() -> bool:
    """Return True when the Wappalyzer fingerprints can be used."""
    return _load_wappalyzer() is not None


def _load_wappalyzer() -> Any:
    global _wappalyzer, _wappalyzer_loaded
    with _wappalyzer_lock:
        if not _wappalyzer_loaded:
            _wappalyzer_loaded = True
            try:
                from Wappalyzer import Wappalyzer
            except ImportError:
                logger.info(
                    "wappalyzer-python3 is not installed: using the built-in signatures only"
                )
                return None
            # latest() without arguments reads the technologies.json inside the package.
            _wappalyzer = Wappalyzer.latest()
        return _wappalyzer


def wappalyzer_technologies(html: str, headers: Mapping[str, str], url: str) -> list[str]:
    """Return the technologies Wappalyzer finds, or [] when it is not installed."""
    analyzer = _load_wappalyzer()
    if analyzer is None:
        return []
    from Wappalyzer import WebPage

    # The library calls BeautifulSoup's deprecated findAll alias on every page. The filter
    # is added on each call because test runners reset the filters between tests. Adding
    # an existing filter again replaces it, so the filter list does not grow.
    warnings.filterwarnings(
        "ignore", message="Call to deprecated method findAll", category=DeprecationWarning
    )
    try:
        page = WebPage(url or "http://localhost/", html[:WAPPALYZER_HTML_LIMIT], dict(headers))
        return sorted(analyzer.analyze(page))
    # The library runs third-party patterns and an HTML parser on untrusted pages. A failure
    # there should cost its results, not the whole lookup, so every error is logged and ignored.
    except Exception:
        logger.exception("Wappalyzer failed on %s: using the built-in signatures only", url)
        return []


def detect_technologies(html: str, headers: Mapping[str, str], url: str = "") -> list[str]:
    """Return the technologies found in a page: built-in signatures first, then Wappalyzer's."""
    names = match_signatures(html, headers) + wappalyzer_technologies(html, headers, url)
    return normalize_technologies(names)
