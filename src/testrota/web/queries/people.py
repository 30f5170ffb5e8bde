"""The people search and the person page are use cases now (:mod:`testrota.actions.people`);
the filter choices stay importable here for the pages that still read them directly."""

from testrota.roster.people import departments, grid_units

__all__ = ["departments", "grid_units"]
