"""gfs_reference.py - which backups the GFS retention rules keep, written from the text of
docs/configuration.md ("How prune decides"), independently of the C code: the reference that
prune cases compare `offsite prune` with.

A backup is a dict with id, set, kind ("full" or "diff"), base (an id or None), cls ("daily",
"weekly", "monthly") and started (a naive UTC datetime); a policy a dict with daily, weekly,
monthly, keep_last and optionally max_backups (0 or absent: no cap).
"""
import calendar
import datetime as dt


def parse_time(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")


def add_months(t, months):
    m = t.month - 1 + months
    year, month = t.year + m // 12, m % 12 + 1
    return t.replace(year=year, month=month, day=min(t.day, calendar.monthrange(year, month)[1]))


def gfs(backups, now, p):
    """The ids the rules keep of backups (a dict id -> backup) at now."""
    keep = set()
    for b in backups.values():
        limits = [b["started"] + dt.timedelta(days=p["daily"])]
        if b["cls"] in ("weekly", "monthly"):
            limits.append(b["started"] + dt.timedelta(weeks=p["weekly"]))
        if b["cls"] == "monthly":
            limits.append(add_months(b["started"], p["monthly"]))
        if any(now < end for end in limits):
            keep.add(b["id"])
    for s in {b["set"] for b in backups.values()}:
        mine = sorted((b for b in backups.values() if b["set"] == s),
                      key=lambda b: (b["started"], b["id"]), reverse=True)
        keep.update(b["id"] for b in mine[:p["keep_last"]])
        fulls = [b for b in mine if b["kind"] == "full"]
        if fulls:
            keep.add(fulls[0]["id"])
    cap = p.get("max_backups", 0)
    for s in {b["set"] for b in backups.values()} if cap else ():
        # newest first over what the rules above keep; each counts with the bases it needs;
        # the newest always fits; the first that does not fit ends the walk
        kept = sorted((b for b in backups.values() if b["set"] == s and b["id"] in keep),
                      key=lambda b: (b["started"], b["id"]), reverse=True)
        counted, stopped = set(), False
        for b in kept:
            chain, i = [], b["id"]
            while i in backups and i not in counted and i not in chain:
                chain.append(i)
                i = backups[i]["base"]
            if not stopped and (not counted or len(counted) + len(chain) <= cap):
                counted.update(chain)
            else:
                stopped = True
        keep -= {b["id"] for b in kept if b["id"] not in counted}
    while True:
        bases = {backups[i]["base"] for i in keep if backups[i]["base"] in backups}
        if bases <= keep:
            return keep
        keep |= bases
