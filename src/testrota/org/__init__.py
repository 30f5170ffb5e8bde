"""The group's units, from the group down to teams and grid units (issue 15).

``config`` reads ``config/org.yaml``; ``paths`` is the pure part (a roster row's unit, a path's
parts and bounds); ``units`` keeps the ``orgunit`` rows and each person's unit in step and
answers "this unit and everything below it"; ``daily`` is the daily report's roll-up.
"""
