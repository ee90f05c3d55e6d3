"""The dashboard's language and time zone: gettext catalogs (managed with Babel) and the zone
every time is shown in.

Words live in `ui/locales/<lang>/LC_MESSAGES/messages.po` (`make catalogs-extract`,
`catalogs-update`, `catalogs-compile`; see the README). Pages and ui modules wrap every
visible string in `_()`, with named placeholders filled after translation
(``_("{count} selected").format(count=n)``), so a translator can move them; a module-level
constant that is translated later is marked with `N_()`. Core returns codes and data, and
words are chosen here, so the CLI keeps its English output.

Who sees what: the sidebar's switch (this session), else the `language` setting, else
(``auto``) the browser's locale (`st.context.locale`): Japanese for ``ja*``, English
otherwise. The time zone likewise: the sidebar, the `display_timezone` setting, the
browser's zone (`st.context.timezone`), UTC. Daily counts and rates stay on UTC days.
"""

from __future__ import annotations

import gettext
import io
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from core.errors import BounceDeskError
from core.settings import Settings
from ui import resources

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
LANGUAGES = {"en": "English", "ja": "日本語"}
SOURCE_LANGUAGE = "en"
LANGUAGE_KEY = "i18n_language"  # session state of the sidebar's language switch
TIMEZONE_KEY = "i18n_timezone"  # session state of the sidebar's time-zone choice
AUTO = "auto"
# The zones the sidebar offers besides the browser's and the configured one.
COMMON_ZONES = ["Asia/Tokyo", "UTC", "America/Los_Angeles", "America/New_York", "Europe/London"]


def N_(message: str) -> str:
    """Mark `message` for the catalog without translating it now (a constant translated
    with `_()` where it is shown)."""
    return message


def catalog_path(language: str, suffix: str = ".po") -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of `language`. A checkout that has not run `make catalogs-compile`
    (or edited the .po since) reads the .po itself, so a stale .mo never shows old words."""
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return gettext.NullTranslations()
    po, mo = catalog_path(language), catalog_path(language, ".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _settings() -> Settings | None:
    try:
        return resources.configuration()
    except BounceDeskError:  # the router shows why it cannot start, in the browser's language
        return None


def language_from_locale(locale: str | None) -> str:
    """The dashboard language for a browser locale ("ja-JP" -> "ja"); English otherwise."""
    code = (locale or "").replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else SOURCE_LANGUAGE


def default_language() -> str:
    """The language before anyone switches: the setting, or the browser's for ``auto``."""
    settings = _settings()
    configured = settings.language if settings is not None else AUTO
    if configured != AUTO:
        return configured
    return language_from_locale(st.context.locale)


def language() -> str:
    """The language of this run."""
    chosen = st.session_state.get(LANGUAGE_KEY)
    return chosen if chosen in LANGUAGES else default_language()


def _(message: str) -> str:
    """`message` (our English words) in this run's language."""
    return translations(language()).gettext(message)


# --- Time zone ---------------------------------------------------------------------------


def _valid_zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def default_zone_name() -> str:
    """The zone before anyone chooses: the setting, or the browser's for ``auto``, or UTC."""
    settings = _settings()
    configured = settings.display_timezone if settings is not None else AUTO
    if configured != AUTO:
        return configured
    return _valid_zone(st.context.timezone) or "UTC"


def zone_name() -> str:
    """The IANA name of the zone this run shows times in."""
    return _valid_zone(st.session_state.get(TIMEZONE_KEY)) or default_zone_name()


def zone() -> ZoneInfo:
    return ZoneInfo(zone_name())


def local(value: datetime) -> datetime:
    """A stored time (naive UTC, or aware) in the display zone."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(zone())


def zone_label(at: datetime | None = None) -> str:
    """The zone's abbreviation at `at` (now by default): "JST", "UTC", "PST"/"PDT"."""
    moment = local(at) if at is not None else datetime.now(zone())
    return moment.tzname() or zone_name()


def today() -> date:
    """Today in the display zone (the last day a date filter may pick)."""
    return datetime.now(zone()).date()


def zone_choices() -> list[str]:
    """The zones the sidebar offers: the default one first, then the common ones."""
    first = default_zone_name()
    return [first, *(name for name in COMMON_ZONES if name != first)]
