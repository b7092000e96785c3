from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from assess.forms_i18n import AppForm
from assess.services.identity import NipError, parse_nip


class ParticipantLoginForm(AppForm):
    nip = StringField(
        _l("NIP"), validators=[DataRequired(message=_l("Enter your NIP."))],
        description=_l("18 digits, without spaces"),
        render_kw={"inputmode": "numeric", "autocomplete": "username", "maxlength": 22},
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(message=_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Sign in"))

    def validate_nip(self, field):
        try:
            field.data = parse_nip(field.data).nip
        except NipError as error:
            raise ValidationError(str(error.message)) from None


class StaffLoginForm(AppForm):
    username = StringField(
        _l("Username"), validators=[DataRequired(message=_l("Enter your username.")), Length(max=64)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(message=_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Sign in"))


class LogoutForm(AppForm):
    submit = SubmitField(_l("Sign out"))
