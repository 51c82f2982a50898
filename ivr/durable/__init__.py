"""Asterisk's own durable record of its calls (CEL and queue_log files it appends by
itself, connected service or not) and the journal's reconciliation from it."""
