"""Callbacks (回访, SPEC R7): a task for every call that needs one, attempts, the
two-days rule, the monthly callback rate, and calling the customer back."""
