from django import forms
from django.conf import settings


class ImportForm(forms.Form):
    file = forms.FileField(help_text="FollowTheMoney JSON lines (.jsonl, or .jsonl.gz).")
    format = forms.ChoiceField(choices=[("ftm", "FollowTheMoney (JSON lines)")], initial="ftm")
    dataset = forms.CharField(max_length=200, help_text="Its items are matched across imports by this name.")
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
