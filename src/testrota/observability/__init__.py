"""What operators see: structured logs, ``/metrics``, ``testrota doctor``, job heartbeats."""
