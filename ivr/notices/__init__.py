"""Outage notices (停气公告): posted by admins, played right after the greeting."""
