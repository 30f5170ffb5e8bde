"""High-risk role matching: which of the sixteen categories a person is in, and why.

``normalize`` (one spelling per title), ``vocabulary`` (config/risk_categories.yaml), ``terms``
(exact keyword search), ``matcher`` (the pure precedence rules) and ``service`` (the database
side: the role review list, HR overrides with their audit trail, reclassification).
"""
