"""Forms of the partner directory: the staff search, the admin's service form and CSV import."""

from django import forms
from django.db import models

from regions.models import Jurisdiction

from .exchange import MAX_ROWS
from .models import Language, PartnerService, Topic
from .selectors import DirectoryFilters

MAX_IMPORT_BYTES = 400 * 1024  # under RST_MAX_REQUEST_BYTES, so the message is ours
FILE_TOO_LARGE = "The file is larger than 400 KB; split it."
NOT_A_CSV = "Choose a .csv file."


class DirectorySearchForm(forms.Form):
    q = forms.CharField(label="Search words", required=False, max_length=200)
    jurisdiction = forms.ChoiceField(label="State or territory", required=False)
    topic = forms.ChoiceField(
        label="Topic", required=False, choices=[("", "Any topic"), *Topic.choices]
    )
    language = forms.ChoiceField(
        label="Language", required=False, choices=[("", "Any language"), *Language.choices]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].choices = [
            ("", "Anywhere"),
            *((j.code, f"{j.name} ({j.code})") for j in Jurisdiction.objects.order_by("name")),
        ]
        for field in self.fields.values():
            select = isinstance(field, forms.ChoiceField)
            field.widget.attrs["class"] = "form-select" if select else "form-control"

    def filters(self) -> DirectoryFilters:
        """The valid filters; an invalid value (a hand-edited URL) is ignored, not an error."""
        if not self.is_bound:
            return DirectoryFilters()
        self.is_valid()
        data = {name: self.cleaned_data.get(name, "") for name in self.fields}
        return DirectoryFilters(
            jurisdiction=data["jurisdiction"],
            topic=data["topic"],
            language=data["language"],
            text=data["q"],
        )


def https_by_default(field, **kwargs):
    """Form fields for model fields; a web address typed without a scheme gets https://."""
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return field.formfield(**kwargs)


class PartnerServiceAdminForm(forms.ModelForm):
    """The service as a supervisor edits it: topics and languages as checkboxes."""

    topic_list = forms.MultipleChoiceField(
        label="Topics", choices=Topic.choices, widget=forms.CheckboxSelectMultiple
    )
    language_list = forms.MultipleChoiceField(
        label="Languages",
        choices=Language.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = PartnerService
        formfield_callback = https_by_default
        fields = [
            "organization",
            "name",
            "description",
            "status",
            "is_national",
            "minimum_age",
            "maximum_age",
            "eligibility",
            "interpretation",
            "phone",
            "website",
            "email",
            "how_to_refer",
            "last_verified_on",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["topic_list"] = [t.topic for t in self.instance.topics.all()]
            self.initial["language_list"] = [
                lang.language for lang in self.instance.languages.all()
            ]


class DirectoryImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text=f"UTF-8, at most {MAX_ROWS} rows.")
    skip_invalid = forms.BooleanField(
        label="Import the valid rows even if some rows are bad (the bad ones are listed)",
        required=False,
    )
    dry_run = forms.BooleanField(
        label="Check only: report what would change, write nothing", required=False
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".csv"):
            raise forms.ValidationError(NOT_A_CSV)
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(FILE_TOO_LARGE)
        return upload.read()
