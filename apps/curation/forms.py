"""Forms of the curation pages. They validate like the models (ModelForm runs the model's
full_clean), and the views hand the cleaned data to apps.catalog.services."""
from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from apps.catalog.models import Entity, Record, Source
from apps.catalog.services import RECORD_FIELDS


def errors_to_form(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form, by field where the form has that field."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None,
                           errors if name in form.fields else [f"{name}: {m}" for m in errors])
    else:
        form.add_error(None, exc.messages)


class RecordForm(forms.ModelForm):
    class Meta:
        model = Record
        fields = RECORD_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        entities = Entity.objects.order_by("name")
        for name in ("subject", "object", "site", "party"):
            self.fields[name].queryset = entities
        self.fields["related"].queryset = Record.objects.select_related("subject", "object").order_by("title")
        if self.instance.pk:
            self.fields["kind"].disabled = True

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in RECORD_FIELDS if name in self.cleaned_data}


class CitationForm(forms.Form):
    source = forms.ModelChoiceField(queryset=Source.objects.order_by("title"))
    quote = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                            help_text="Copy it exactly: it must be found verbatim in the source's stored text.")
    field = forms.CharField(required=False, max_length=100,
                            help_text="Empty for the whole record; or a field it backs: start, amount, ..."
                                      " ('disputes' if the source contradicts the record).")


class SourceForm(forms.ModelForm):
    # The model refuses any scheme but http(s); a bare "example.org" is read as https.
    url = forms.URLField(required=False, max_length=1000, assume_scheme="https")

    class Meta:
        model = Source
        fields = ["title", "publisher", "author", "published", "url", "language", "source_type", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 12})}
        help_texts = {"text": "The full text (or the relevant part): quotes are checked against it."}


class TransitionForm(forms.Form):
    to = forms.ChoiceField(choices=[("review", "review"), ("draft", "draft"), ("published", "published"),
                                    ("retracted", "retracted")])
    reason = forms.CharField(required=False, max_length=500)


class DuplicateForm(forms.Form):
    a = forms.UUIDField()
    b = forms.UUIDField()
    verdict = forms.ChoiceField(choices=[("merge_into_a", "merge B into A"), ("merge_into_b", "merge A into B"),
                                         ("different", "not the same")])
    note = forms.CharField(required=False, max_length=1000)
