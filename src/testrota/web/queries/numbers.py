"""Moved to :mod:`testrota.privacy.number_search` (the people search of the use cases needs it
outside the web); kept here for the outbox query until it moves too."""

from testrota.privacy.number_search import digits, id_number_condition, phone_condition

__all__ = ["digits", "id_number_condition", "phone_condition"]
