"""gfs_reference.py - which backups the GFS retention rules keep, written from the text of
docs/configuration.md ("How prune decides"), independently of the C code: the reference that
prune cases compare `offsite prune` with.

A backup is a dict with id, set, kind ("full" or "diff"), base (an id or None), cls ("daily",
"weekly", "monthly") and started (a naive UTC datetime); a policy a dict with daily, weekly,
monthly and keep_last.
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
    while True:
        bases = {backups[i]["base"] for i in keep if backups[i]["base"] in backups}
        if bases <= keep:
            return keep
        keep |= bases
