from django import forms
from django.conf import settings

from apps.catalog.dates import validate_partial_date
from apps.catalog.models import Source, validate_currency
from apps.catalog.vocab import EntityKind, RecordKind


class ArticleForm(forms.Form):
    file = forms.FileField(required=False, label="Upload a file",
                           help_text="HTML, PDF or plain text. Scripts in a page are never run.")
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 10}), label="or paste the text")
    title = forms.CharField(required=False, max_length=500, help_text="Left empty: as the document states it.")
    publisher = forms.CharField(required=False, max_length=300)
    author = forms.CharField(required=False, max_length=300)
    published = forms.CharField(required=False, max_length=10, validators=[validate_partial_date],
                                help_text="YYYY, YYYY-MM or YYYY-MM-DD.")
    url = forms.URLField(required=False, max_length=1000, assume_scheme="https")
    language = forms.CharField(required=False, max_length=8, help_text="e.g. en, sr, ka")

    def clean(self):
        data = super().clean()
        upload, text = data.get("file"), (data.get("text") or "").strip()
        if upload and text:
            raise forms.ValidationError("Upload a file or paste a text, not both.")
        if not upload and not text:
            raise forms.ValidationError("Upload a file or paste the article's text.")
        if upload is not None:
            limit = max(settings.ARTICLE_UPLOAD_MAX_BYTES, settings.ARTICLE_PDF_MAX_BYTES)
            if upload.size > limit:
                raise forms.ValidationError({"file": f"{upload.name} is {upload.size // 1024} KB: the limit is "
                                                     f"{limit // 1024} KB."})
        return data

    def overrides(self) -> dict:
        return {k: self.cleaned_data.get(k) for k in ("title", "publisher", "author", "published", "url", "language")}


class DetailsForm(forms.ModelForm):
    url = forms.URLField(required=False, max_length=1000, assume_scheme="https")

    class Meta:
        model = Source
        fields = ["title", "publisher", "author", "published", "url", "language"]


class AcceptForm(forms.Form):
    kind = forms.ChoiceField(choices=RecordKind.choices)
    subject = forms.CharField(max_length=600)
    object = forms.CharField(max_length=600)
    date = forms.CharField(required=False, max_length=10, validators=[validate_partial_date])
    amount = forms.DecimalField(required=False, min_value=0, max_digits=20, decimal_places=2)
    currency = forms.CharField(required=False, max_length=3, validators=[validate_currency])

    def party(self, name: str) -> dict:
        """{'entity': uuid} or {'name': ..., 'kind': ...} from a choice value 'e:<uuid>' / 'n:<kind>:<name>'."""
        value = self.cleaned_data[name]
        if value.startswith("e:"):
            return {"uuid": value[2:]}
        if value.startswith("n:"):
            _, kind, text = value.split(":", 2)
            return {"name": text, "kind": kind if kind in EntityKind.values else EntityKind.ORGANIZATION}
        return {"name": value, "kind": EntityKind.ORGANIZATION}


class MentionEntityForm(forms.Form):
    kind = forms.ChoiceField(choices=EntityKind.choices)
