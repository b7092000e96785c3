from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField
from wtforms.validators import DataRequired


class ConsentForm(FlaskForm):
    consent = BooleanField(
        _l("I have read the instructions and agree that my answers are processed for the competency assessment (UU PDP 27/2022)."),
        validators=[DataRequired(message=_l("Please confirm that you have read the instructions."))],
    )
    submit = SubmitField(_l("Start the test"))


class SubmitForm(FlaskForm):
    submit = SubmitField(_l("Continue"))
