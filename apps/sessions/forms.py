"""The chat page's HTTP forms: the path that works without JavaScript.

Limits match the socket's (PROTOCOL.md), so both paths accept the same questions.
"""

from __future__ import annotations

from django import forms

from apps.sessions import protocol


class AskForm(forms.Form):
    text = forms.CharField(max_length=protocol.MAX_QUESTION, strip=True)
    product_id = forms.CharField(max_length=protocol.MAX_PRODUCT_ID, required=False, strip=True)


class FeedbackForm(forms.Form):
    message_id = forms.IntegerField(min_value=1)
    rating = forms.TypedChoiceField(choices=[("1", "Thumbs up"), ("-1", "Thumbs down")], coerce=int)
    comment = forms.CharField(max_length=protocol.MAX_COMMENT, required=False, strip=True)
