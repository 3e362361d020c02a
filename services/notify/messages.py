"""Message templates per language: Jinja2 with gettext catalogues (locale/<lang>/LC_MESSAGES/notify.po).

Compiled .mo files are git-ignored, so a catalogue is compiled from its .po in memory when the
.mo is missing or older; a language without a catalogue falls back to English.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
LOCALE = HERE / "locale"
DOMAIN = "notify"
REPORTER_LANGUAGES = ("en", "ar", "tr", "ur")
RIGHT_TO_LEFT = {"ar", "ur", "fa", "he", "ps", "ckb"}


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    text: str
    html: str
    sms: str


def language_of(tag: str | None) -> str:
    """The catalogue language for a BCP 47 tag ('ar-EG' -> 'ar'); English when there is no catalogue."""
    base = (tag or "en").replace("_", "-").split("-")[0].lower()
    return base if (LOCALE / base / "LC_MESSAGES" / f"{DOMAIN}.po").exists() else "en"


def load_translations(language: str, locale_dir: Path = LOCALE) -> gettext.NullTranslations:
    folder = locale_dir / language / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as f:
            return gettext.GNUTranslations(f)
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Templates:
    """One Jinja2 environment per language, built once: gettext is installed per environment."""

    def __init__(self, templates: Path = TEMPLATES, locale_dir: Path = LOCALE) -> None:
        self.templates = templates
        self.locale_dir = locale_dir
        self._envs: dict[str, Environment] = {}

    def env(self, language: str) -> Environment:
        if language not in self._envs:
            env = Environment(loader=FileSystemLoader(self.templates), undefined=StrictUndefined,
                              autoescape=select_autoescape(["html"]), extensions=["jinja2.ext.i18n"],
                              keep_trailing_newline=False, trim_blocks=False)
            env.install_gettext_translations(load_translations(language, self.locale_dir),  # type: ignore[attr-defined]
                                             newstyle=True)
            self._envs[language] = env
        return self._envs[language]

    def render(self, name: str, language: str | None, context: dict[str, Any]) -> Rendered:
        lang = language_of(language)
        env = self.env(lang)
        ctx = {"language": lang, "direction": "rtl" if lang in RIGHT_TO_LEFT else "ltr", "link": None, **context}
        subject = " ".join(env.get_template(f"{name}.subject.txt").render(ctx).split())
        text = _tidy(env.get_template(f"{name}.txt").render(ctx))
        sms_name = f"{name}.sms.txt"
        sms = " ".join((env.get_template(sms_name).render(ctx) if (self.templates / sms_name).exists()
                        else f"{subject}. {text}").split())
        paragraphs = [p.splitlines() for p in text.split("\n\n") if p.strip()]
        html = env.get_template("_layout.html").render({**ctx, "subject": subject, "paragraphs": paragraphs})
        return Rendered(lang, subject, text, html, sms)


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out) + "\n"
