"""WTForms' own messages (a field left empty, a number out of range, a bad date ...) in the user's
language. WTForms ships no Indonesian catalog, so Flask-WTF fell back to English on Indonesian pages;
the messages are in this application's catalog instead, and every form derives from :class:`AppForm`
(or :class:`SubForm`).
"""
from __future__ import annotations

import wtforms
from flask_babel import get_translations, ngettext
from flask_wtf import FlaskForm


class _Translations:
    """WTForms formats its messages itself (``%(min)d`` ...): translate only, format nothing."""

    def gettext(self, string):
        return get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        return get_translations().ungettext(singular, plural, n)


_TRANSLATIONS = _Translations()


class AppForm(FlaskForm):
    """Every form of the application (CSRF from Flask-WTF)."""

    class Meta:
        def get_translations(self, form):
            return _TRANSLATIONS


class SubForm(wtforms.Form):
    """A form inside another (``FormField``): no CSRF of its own, the same messages."""

    class Meta:
        def get_translations(self, form):
            return _TRANSLATIONS


def N_(message: str) -> str:  # marks a message for extraction
    return message


def _catalog() -> None:  # pragma: no cover - never called: WTForms' messages, for `make i18n-update`
    N_("This field is required.")
    N_("Invalid input.")
    N_("Invalid email address.")
    N_("Not a valid choice.")
    N_("Invalid Choice: could not coerce.")
    N_("Invalid choice(s): one or more data inputs could not be coerced.")
    ngettext("'%(value)s' is not a valid choice for this field.",
             "'%(value)s' are not valid choices for this field.", 1)
    N_("Invalid value, must be one of: %(values)s.")
    N_("Not a valid datetime value.")
    N_("Not a valid date value.")
    N_("Not a valid time value.")
    N_("Not a valid integer value.")
    N_("Not a valid decimal value.")
    N_("Not a valid float value.")
    N_("Number must be at least %(min)s.")
    N_("Number must be at most %(max)s.")
    N_("Number must be between %(min)s and %(max)s.")
    ngettext("Field must be at least %(min)d character long.",
             "Field must be at least %(min)d characters long.", 1)
    ngettext("Field cannot be longer than %(max)d character.",
             "Field cannot be longer than %(max)d characters.", 1)
    ngettext("Field must be exactly %(max)d character long.",
             "Field must be exactly %(max)d characters long.", 1)
    N_("Field must be between %(min)d and %(max)d characters long.")
    N_("Field must be equal to %(other_name)s.")
    N_("Invalid CSRF Token.")
    N_("CSRF token missing.")
    N_("CSRF failed.")
    N_("CSRF token expired.")
