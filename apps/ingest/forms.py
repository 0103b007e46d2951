from django import forms
from django.conf import settings

from apps.ingest.formats import NAMES


class ImportForm(forms.Form):
    file = forms.FileField(help_text="FollowTheMoney JSON lines, an OCDS or BODS JSON file, or a CSV list (.gz accepted).")
    format = forms.ChoiceField(choices=list(NAMES.items()), initial="ftm")
    mapping = forms.FileField(required=False, help_text="For a CSV list: its mapping file (YAML; see data/mappings/).")
    dataset = forms.CharField(max_length=200, required=False,
                              help_text="Its items are matched across imports by this name (default: from the file).")
    publisher = forms.CharField(max_length=300, required=False)
    licence = forms.CharField(max_length=200, required=False)
    url = forms.URLField(max_length=1000, required=False, assume_scheme="https")
    publish = forms.BooleanField(required=False, help_text="Publish what is imported (reviewers and admins; the "
                                                           "usual publishing rules apply).")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.VENDORGRAPH_IMPORT_UPLOAD_MAX
        if upload.size > limit:
            raise forms.ValidationError(f"The file is {upload.size // (1024 * 1024)} MB; the upload limit is "
                                        f"{limit // (1024 * 1024)} MB (use manage.py ingest for larger files).")
        return upload
