"""Test oracle: CloudKitty's HashMap pricing, with Python's own decimal module.

The differential test (oracle.test.ts) feeds random price lists and points to
this script and to the TypeScript implementation, and requires the same
strings. The arithmetic under test (context rounding to 28 digits, exponents,
the order of operations) is Python's, so Python computes the expected values.

Input (stdin, JSON): {"data": {services, fields, groups, mappings, thresholds}
as rows with camelCase keys, "cases": [{"tenant", "at", "point"}]}.
Output (stdout, JSON): one string per case (the price, or "error: ...").
"""
import decimal
import json
import sys


def load(data, tenant, at):
    groups = {g["groupId"]: g["name"] for g in data["groups"]}

    def group_of(row):
        return groups.get(row["groupId"], "_DEFAULT_") if row["groupId"] else "_DEFAULT_"

    def active(m):
        return (m["deletedAt"] is None and m["start"] <= at
                and (m["end"] is None or at < m["end"]))

    def rows(kind, parent, tenant_id):
        out = [r for r in data[kind]
               if (r["serviceId"] or r["fieldId"]) == parent
               and r["tenantId"] == tenant_id
               and (kind != "mappings" or active(r))]
        return sorted(out, key=lambda r: r["seq"])

    def load_mappings(rs):
        mappings = {}
        for m in rs:
            scope = mappings.setdefault(group_of(m), {})
            if m["value"]:
                scope[m["value"]] = {}
                scope = scope[m["value"]]
            scope["type"] = m["type"]
            scope["cost"] = decimal.Decimal(m["cost"])
        return mappings

    def load_thresholds(rs):
        thresholds = {}
        for t in rs:
            scope = thresholds.setdefault(group_of(t), {})
            level = decimal.Decimal(t["level"])
            scope[level] = {"type": t["type"], "cost": decimal.Decimal(t["cost"])}
        return thresholds

    def update_entries(kind, root, parent):
        for tenant_id in (None, tenant or None):
            loader = load_mappings if kind == "mappings" else load_thresholds
            entries = loader(rows(kind, parent, tenant_id))
            if kind in root:
                res = root[kind]
                for group, values in entries.items():
                    if group in res:
                        res[group].update(values)
                    else:
                        res[group] = values
            else:
                root[kind] = entries

    out = {}
    for s in sorted(data["services"], key=lambda r: r["seq"]):
        entry = out[s["name"]] = {}
        for kind in ("mappings", "thresholds"):
            update_entries(kind, entry, s["serviceId"])
        entry["fields"] = {}
        for f in sorted(data["fields"], key=lambda r: r["seq"]):
            if f["serviceId"] != s["serviceId"]:
                continue
            scope = entry["fields"][f["name"]] = {}
            for kind in ("mappings", "thresholds"):
                update_entries(kind, scope, f["fieldId"])
    return out


def price(entries, point):
    name = point["type"]
    current = decimal.Decimal(point["price"] or "0")
    if name not in entries:
        return current
    qty = decimal.Decimal(point["qty"])
    desc = dict(point["metadata"])
    desc.update(point["groupby"])
    res = {}

    def update(group, map_type, cost, level=0, is_threshold=False, scope="field"):
        if group not in res:
            res[group] = {"flat": 0, "rate": 1,
                          "threshold": {"level": -1, "cost": 0, "type": "flat", "scope": "field"}}
        if is_threshold:
            if level > res[group]["threshold"]["level"]:
                res[group]["threshold"] = {"level": level, "cost": cost, "type": map_type, "scope": scope}
        elif map_type == "rate":
            res[group]["rate"] *= cost
        elif cost > res[group]["flat"]:
            res[group]["flat"] = cost

    def thresholds(groups, value, scope):
        for group, levels in groups.items():
            for level, t in levels.items():
                if value >= level:
                    update(group, t["type"], t["cost"], level, True, scope)

    entry = entries[name]
    for group, m in entry["mappings"].items():
        update(group, m["type"], m["cost"])
    thresholds(entry["thresholds"], qty, "service")
    for field, f in entry["fields"].items():
        if field not in desc:
            continue
        value = desc[field]
        for group, mappings in f["mappings"].items():
            for mvalue, m in mappings.items():
                if str(value) == mvalue:
                    update(group, m["type"], m["cost"])
        if f["thresholds"]:
            thresholds(f["thresholds"], decimal.Decimal(value), "field")

    for g in res.values():
        rate, flat, th = g["rate"], g["flat"], g["threshold"]
        if th["scope"] == "field":
            if th["type"] == "flat":
                flat += th["cost"]
            else:
                rate *= th["cost"]
        total = rate * flat
        total *= qty
        if th["scope"] == "service":
            if th["type"] == "flat":
                total += th["cost"]
            else:
                total *= th["cost"]
        current = current + total
    return current


def main():
    req = json.load(sys.stdin)
    out = []
    cache = {}
    for case in req["cases"]:
        key = (case["tenant"], case["at"])
        if key not in cache:
            cache[key] = load(req["data"], case["tenant"], case["at"])
        try:
            out.append(format(price(cache[key], case["point"]), "f"))
        except (decimal.InvalidOperation, ValueError) as e:
            out.append("error: " + type(e).__name__)
    json.dump(out, sys.stdout)


main()
