"""Which node a call belongs to: read off its linkedid.

Each Asterisk node runs with its own `systemname`, which Asterisk puts in front of every
channel id and linkedid it makes (`nodea-1764590000.42`). So the id itself says where
the call was, for events from any source (ARI, AMI, FastAGI, CEL), with no tag to carry.
"""

from __future__ import annotations

from collections.abc import Mapping


def node_of(linkedid: str, nodes: Mapping[str, str]) -> str | None:
    """The node (by name) whose systemname prefixes `linkedid`; None when no node's
    does (one node without a systemname, or an id from elsewhere)."""
    prefix, dash, rest = linkedid.partition("-")
    if not dash or not rest:
        return None
    return nodes.get(prefix)
