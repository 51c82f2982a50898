"""Spot checks (抽查, SPEC R8): checkers of a quarter (people, or the prober) and the
connection score of their dials."""
