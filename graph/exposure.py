"""Exposure queries: who buys from a supplier that a state controls or that someone banned.

The same visibility and as-of rule as graph.queries (`_REL_VISIBLE`, `_NODE_VISIBLE`): a
record counts when it is published and every entity it names is published, and with
$as_of only when it was current on that date. Cypher is built from module constants; input
only travels as $parameters.
"""
from __future__ import annotations

from graph.connection import run
from graph.queries import _NODE_MAP, _NODE_VISIBLE, _REL_MAP, _REL_VISIBLE, _visibility, ownership_chains

# A ban with one of these statuses restricts nothing (the deployment map's rule too).
INACTIVE_BAN_STATUSES = ["lifted", "annulled", "expired", "proposed"]

# What a buyer takes from a supplier: a contract (buyer -> supplier), a deployment
# (supplier -> place) and a loan (lender -> borrower) tied to a supplier (`party`).
# `x` is the buying side: the contract's buyer, the deployment's place, the loan's borrower.
_SUPPLY_ARMS = """
CALL {
  WITH x
  MATCH (x)-[r:CONTRACTED]->(supplier:Entity)
  RETURN r, supplier
  UNION
  WITH x
  MATCH (supplier:Entity)-[r:DEPLOYED_IN]->(x)
  RETURN r, supplier
  UNION
  WITH x
  MATCH (:Entity)-[r:LENT_TO]->(x)
  WHERE r.party IS NOT NULL
  MATCH (supplier:Entity {uid: r.party})
  RETURN r, supplier
}
"""
_SUPPLY_RETURN = f"""
WITH x, r, supplier WHERE {_REL_VISIBLE} AND {_NODE_VISIBLE.format(n='supplier')}
RETURN {_REL_MAP} AS rel, {_NODE_MAP.format(n='x')} AS buyer, {_NODE_MAP.format(n='supplier')} AS supplier
ORDER BY coalesce(r.start, '') DESC, r.uid
LIMIT $limit
"""

# Supplies bought in a country: the buying side is an entity of that country (the state,
# its public bodies, sites and companies).
SUPPLY_IN_COUNTRY = f"""
MATCH (x:Entity {{country: $iso}})
WHERE {_NODE_VISIBLE.format(n='x')}
{_SUPPLY_ARMS}
{_SUPPLY_RETURN}
"""

# Supplies bought by one entity.
SUPPLY_OF_BUYER = f"""
MATCH (x:Entity {{uid: $uid}})
WHERE {_NODE_VISIBLE.format(n='x')}
{_SUPPLY_ARMS}
{_SUPPLY_RETURN}
"""

# Bans in force on any of $uids (a supplier and the owners up its chains).
BANS_ON = f"""
UNWIND $uids AS uid
MATCH (authority:Entity)-[r:BANNED]->(target:Entity {{uid: uid}})
WHERE {_REL_VISIBLE} AND {_NODE_VISIBLE.format(n='authority')}
  AND NOT coalesce(r.status, '') IN $inactive
RETURN target.uid AS target, {_REL_MAP} AS rel, {_NODE_MAP.format(n='authority')} AS authority
ORDER BY coalesce(r.start, ''), r.uid
"""

# A vendor's dated contracts against its dated bans in force. Partial dates compare at
# the coarser of the two precisions: "2024-03" is after "2023"; "2023" against
# "2023-05" cannot be ordered ("same_period"). The contract's place follows the
# deployment map's rule (the buyer's country when it is a state, site or public body,
# else the record's site, else the buyer's country); the ban's country is the authority's.
CONTRACTS_AGAINST_BANS = f"""
MATCH (v:Entity {{uid: $uid}})
WHERE {_NODE_VISIBLE.format(n='v')}
MATCH (buyer:Entity)-[r:CONTRACTED]->(v)
WHERE r.start IS NOT NULL AND {_REL_VISIBLE}
WITH v, r AS c, buyer
MATCH (authority:Entity)-[r:BANNED]->(v)
WHERE r.start IS NOT NULL AND {_REL_VISIBLE} AND NOT coalesce(r.status, '') IN $inactive
WITH c, buyer, r AS b, authority
OPTIONAL MATCH (site:Entity {{uid: c.site}})
WITH c, buyer, b, authority,
     CASE WHEN buyer.kind IN ['country', 'site', 'public_body'] AND buyer.country IS NOT NULL THEN buyer.country
          WHEN site IS NOT NULL AND site.country IS NOT NULL THEN site.country ELSE buyer.country END AS contract_country,
     CASE WHEN size(c.start) < size(b.start) THEN size(c.start) ELSE size(b.start) END AS precision
WITH c, buyer, b, authority, contract_country, left(c.start, precision) AS signed, left(b.start, precision) AS banned
WITH c AS r, buyer, b, authority, contract_country,
     CASE WHEN signed > banned THEN 'after' WHEN signed < banned THEN 'before' ELSE 'same_period' END AS order
WITH buyer, b, authority, contract_country, order, {_REL_MAP} AS contract
WITH buyer, authority, contract_country, order, contract, b AS r
RETURN contract, {_NODE_MAP.format(n='buyer')} AS buyer, contract_country, {_REL_MAP} AS ban,
       {_NODE_MAP.format(n='authority')} AS authority, authority.country AS ban_country, order
ORDER BY contract.start, contract.uid, ban.start, ban.uid
LIMIT $limit
"""


def supplies(*, iso: str | None = None, buyer: str | None = None, as_of: str | None = None,
             published_only: bool = True, limit: int = 2000) -> list[dict]:
    """Rows {rel, buyer, supplier}: contracts, deployments and tied loans bought in country
    `iso` or by entity `buyer`."""
    params = {"limit": limit, **_visibility(as_of, published_only)}
    if iso:
        return run(SUPPLY_IN_COUNTRY, {"iso": iso, **params})
    return run(SUPPLY_OF_BUYER, {"uid": buyer, **params})


def bans_on(uids: list[str], *, as_of: str | None = None, published_only: bool = True) -> list[dict]:
    """Rows {target, rel, authority}: bans in force on any of `uids`."""
    if not uids:
        return []
    return run(BANS_ON, {"uids": sorted(set(uids)), "inactive": INACTIVE_BAN_STATUSES,
                         **_visibility(as_of, published_only)})


def supplier_risks(uids: list[str], *, as_of: str | None = None, published_only: bool = True) -> dict[str, dict]:
    """For each supplier uid: {"chains": [...], "state": bool, "bans": [...]}.

    The chains are graph.queries.ownership_chains (one traversal per supplier); the bans
    are those on the supplier or on anyone up its chains (one query for all), each ban row
    with `target` (whom it hits). `state` holds when the supplier is a state or state-owned,
    or a chain reaches a state."""
    chains_of = {uid: ownership_chains(uid, as_of=as_of, published_only=published_only)["chains"]
                 for uid in sorted(set(uids))}
    members: dict[str, set[str]] = {uid: {uid} for uid in chains_of}
    for uid, chains in chains_of.items():
        for chain in chains:
            members[uid].update(step["owner"]["uid"] for step in chain["steps"])
    bans_by_target: dict[str, list[dict]] = {}
    for row in bans_on(sorted({m for ms in members.values() for m in ms}), as_of=as_of,
                       published_only=published_only):
        bans_by_target.setdefault(row["target"], []).append(row)
    out = {}
    for uid, chains in chains_of.items():
        bans = [ban for member in sorted(members[uid]) for ban in bans_by_target.get(member, [])]
        bans.sort(key=lambda b: (b["rel"].get("start") or "", b["rel"]["uid"]))
        out[uid] = {"chains": chains, "state": any(c["state"] for c in chains), "bans": bans}
    return out


def contracts_against_bans(uid: str, *, as_of: str | None = None, published_only: bool = True,
                           limit: int = 5000) -> list[dict]:
    """Rows {contract, buyer, contract_country, ban, authority, ban_country, order} for every
    dated contract of vendor `uid` against every dated ban in force on it; `order` is
    "after", "before" or "same_period" (the dates cannot be ordered at their precision)."""
    return run(CONTRACTS_AGAINST_BANS, {"uid": uid, "limit": limit, "inactive": INACTIVE_BAN_STATUSES,
                                        **_visibility(as_of, published_only)})
