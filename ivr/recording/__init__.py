"""Call recording (MixMonitor on calls a person answered), who listened to what, and
the quality scores supervisors give recorded calls (the seed's listened items)."""
