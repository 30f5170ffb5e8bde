"""Read models for the pages and the API: plain rows out of the database, always scoped.

Every function takes a :class:`~testrota.auth.scope.Scope`; none can be called without one, so a
page, its export and its API twin share one scoping rule.
"""
