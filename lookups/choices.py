"""The store's enumerations, in a module that needs no app registry: the parsing
process (:mod:`lookups.parse_process`) validates entries without setting Django up."""

from django.db.models.enums import TextChoices


class Service(TextChoices):
    IMESSAGE = "imessage", "iMessage"
    FACETIME = "facetime", "FaceTime"


class Direction(TextChoices):
    OUTGOING = "outgoing", "Outgoing (lookups made by the identifiers)"
    INCOMING = "incoming", "Incoming (lookups of the identifiers)"
    BOTH = "both", "Both directions"
