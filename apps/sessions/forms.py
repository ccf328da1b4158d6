"""The chat page's HTTP forms: the path that works without JavaScript.

Limits match the socket's (PROTOCOL.md), so both paths accept the same questions.
"""

from __future__ import annotations

from django import forms


class AskForm(forms.Form):
    text = forms.CharField(max_length=4000, strip=True)
    product_id = forms.CharField(max_length=200, required=False, strip=True)


class FeedbackForm(forms.Form):
    message_id = forms.IntegerField(min_value=1)
    rating = forms.TypedChoiceField(choices=[("1", "Thumbs up"), ("-1", "Thumbs down")], coerce=int)
    comment = forms.CharField(max_length=2000, required=False, strip=True)
