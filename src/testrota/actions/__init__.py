"""The use cases: every change, and every read a door shows, is one function here.

``fn(app, command) -> result``: a typed command in (a frozen dataclass), a dataclass out. Inside:
the caller's scope (whose data they may touch), the checks against the vocabulary and the policy,
the transaction, and one audit event of an enumerated type (:mod:`testrota.audit`). The CLI,
the web pages, the JSON API and the jobs all call these and do nothing but parse their input
and render the result; no door can skip a check another door makes.

One module per area, named for what happens there: :mod:`.checkin` is where a check-in
happens, whoever records it.
"""
