"""testrota: testing schedules for high-risk staff."""

__version__ = "0.1.0"
