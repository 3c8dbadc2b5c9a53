"""Form plumbing shared by the staff pages: USWDS classes on every widget.

Render a field with ``{% include "web/includes/field.html" with field=form.x %}``
and the form's problems with ``web/includes/error_summary.html``; Django adds
aria-invalid and aria-describedby (``<id>_helptext``, ``<id>_error``) itself.
"""

from typing import Any

from django import forms
from django.forms.widgets import Input

_WIDGET_CLASSES: tuple[tuple[type[forms.Widget], str], ...] = (
    (forms.CheckboxSelectMultiple, "usa-checkbox__input"),
    (forms.RadioSelect, "usa-radio__input"),
    (forms.CheckboxInput, "usa-checkbox__input"),
    (forms.Select, "usa-select"),
    (forms.Textarea, "usa-textarea"),
    (forms.ClearableFileInput, "usa-file-input"),
    (forms.FileInput, "usa-file-input"),
    (Input, "usa-input"),
)


class UswdsFormMixin:
    """Give each widget its USWDS class (and the error variant once it has errors)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # type: ignore[attr-defined]
            for widget_type, css in _WIDGET_CLASSES:
                if isinstance(field.widget, widget_type):
                    existing = field.widget.attrs.get("class", "")
                    field.widget.attrs["class"] = f"{existing} {css}".strip()
                    break

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        for name in self.errors:  # type: ignore[attr-defined]
            field = self.fields.get(name)  # type: ignore[attr-defined]
            if field is None or isinstance(field.widget, forms.CheckboxInput | forms.RadioSelect):
                continue
            css = field.widget.attrs.get("class", "")
            if "usa-input" in css and "usa-input--error" not in css:
                field.widget.attrs["class"] = f"{css} usa-input--error"

    def add_service_errors(self, errors: dict[str, Any]) -> None:
        """Put a service's 400 body (``IntakeError.errors``) next to the fields it names;
        what names no field of this form goes to the form as a whole."""
        for name, messages in errors.items():
            if isinstance(messages, dict):  # by index, e.g. identifiers
                messages = [" ".join(map(str, m)) for m in messages.values()]
            field = name if name in self.fields else None  # type: ignore[attr-defined]
            for message in messages if isinstance(messages, list) else [messages]:
                self.add_error(field, str(message))  # type: ignore[attr-defined]


class UswdsForm(UswdsFormMixin, forms.Form):
    pass
