"""FastAGI for dialplans that are not the hotline's own (an existing Asterisk or FreePBX):
`AGI(agi://host:port/route?line=...)` asks the hotline's routing policy and answers in
channel variables; `AGI(agi://host:port/journal?kind=...)` reports a step the foreign
dialplan took itself. Both journal into the same journal as the controller and the
hotline's own dialplan, keyed by the call's `linkedid`."""
