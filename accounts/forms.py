"""Forms of the sign-in steps and of the staff member's own settings."""

from django import forms

from .services import TIME_ZONE_UNKNOWN
from .time_zones import time_zone_choices


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, help_text: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = help_text


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        help_text="The queue, the referral pages and the admin show times in this zone, "
        "and “today” on staff forms is its date.",
        error_messages={"invalid_choice": TIME_ZONE_UNKNOWN, "required": TIME_ZONE_UNKNOWN},
    )
