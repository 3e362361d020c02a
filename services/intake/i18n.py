"""Gettext catalogues for the public pages, read from the .po files at start-up.

The .po files under locale/ are the source of truth (edited by translators, extracted with
`pybabel extract -F services/intake/babel.cfg`). They are compiled in memory when the service
starts, so no generated .mo file has to be built or committed.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel import Locale
from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

NATIVE_NAMES = {"en": "English", "ar": "العربية", "tr": "Türkçe", "ur": "اردو", "cy": "Cymraeg"}


def load_catalogue(po_path: Path, lang: str) -> Translations:
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


class Catalogues:
    def __init__(self, root: Path, languages: list[str], default: str) -> None:
        self.default = default
        self._translations: dict[str, Translations] = {}
        for lang in languages:
            po = root / lang / "LC_MESSAGES" / "messages.po"
            self._translations[lang] = load_catalogue(po, lang) if po.exists() else Translations()
        self.names = {lang: NATIVE_NAMES.get(lang) or Locale.parse(lang).get_display_name(lang) or lang
                      for lang in languages}

    def get(self, lang: str) -> Translations:
        return self._translations.get(lang) or self._translations[self.default]

    @staticmethod
    def direction(lang: str) -> str:
        return "rtl" if Locale.parse(lang).character_order == "right-to-left" else "ltr"

    def negotiate(self, accept_language: str) -> str:
        """The visitor's first acceptable language by q-value, else the default."""
        wanted = []
        for position, part in enumerate(accept_language.split(",")):
            tag, _, params = part.strip().partition(";")
            q = 1.0
            if params.strip().startswith("q="):
                try:
                    q = float(params.strip()[2:])
                except ValueError:
                    q = 0.0
            if tag and q > 0:
                wanted.append((-q, position, tag.strip()))
        preferred = [tag for _, _, tag in sorted(wanted)]
        preferred += [t.split("-")[0] for t in preferred]
        return negotiate_locale(preferred, list(self._translations), sep="-") or self.default
