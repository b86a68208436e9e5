"""What an unknown code may have been meant to be: codes held for the same application
and location that differ by a leading zero, a look-alike character or one keystroke."""

from __future__ import annotations

_LOOKALIKE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def _one_edit(a: str, b: str) -> bool:
    """Levenshtein distance 1, or two neighbouring characters swapped."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if abs(len(a) - len(b)) != 1:
        return False
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _adder(found: list[str]):
    def add(text: str) -> None:
        if text not in found:
            found.append(text)

    return add


def _name(ref, account_id: str) -> str:
    from schemas.checks import key

    acc = ref.accounts.get(key(account_id))
    return acc.name if acc else "?"


def _days(days: str) -> str:
    return f" {days}" if days else ""


def suggestions(
    codes: list[str], ref, application: str, location: str, limit: int = 3
) -> dict[str, list[str]]:
    """For each unknown code, what it may have been meant to be.

    Looks at the codes held for this application at this location (leading zeros,
    O/0 and I/1 mix-ups, one character different or two swapped) and at the same
    code held for another application or location.

    Args:
        codes: the unknown codes (as the export wrote them, upper case).
        ref: the workbooks' reference data (``processor.reference.records.Reference``).
        application, location: the batch's.

    Returns:
        code → up to ``limit`` suggestions in words.
    """
    from schemas.checks import key

    app_k, loc_k = key(application), key(location)
    # every holder of a code: a code with From and To dates names each account and its days
    holders = {t: [(a, "")] for t, a in ref.codes.items()}
    for t, spans in ref.spans.items():
        holders[t] = [(s.account_id, str(s).split(" ", 2)[2]) for s in spans]
    here = {c: h for (ap, lo, c), h in holders.items() if ap == app_k and lo == loc_k}
    by_stripped: dict[str, list[str]] = {}
    by_lookalike: dict[str, list[str]] = {}
    by_deletion: dict[str, set[str]] = {}
    for k in here:
        by_stripped.setdefault(k.lstrip("0"), []).append(k)
        by_lookalike.setdefault(k.translate(_LOOKALIKE), []).append(k)
        for v in {k, *(k[:i] + k[i + 1 :] for i in range(len(k)))}:
            by_deletion.setdefault(v, set()).add(k)
    elsewhere: dict[str, list[tuple[str, str, str, str]]] = {}
    for (ap, lo, c), held in holders.items():
        if (ap, lo) != (app_k, loc_k):
            elsewhere.setdefault(c, []).extend((ap, lo, a, days) for a, days in held)
    apps = {k: v.name for k, v in ref.applications.items()}
    locs = {k: v.name for k, v in ref.locations.items()}

    out = {}
    for code in codes:
        x = str(code).upper()
        found: list[str] = []
        add = _adder(found)
        for ap, lo, a, days in sorted(elsewhere.get(x, [])):
            add(
                f"{x} is held by account {a} ({_name(ref, a)}){_days(days)} for "
                f"{apps.get(ap, ap)} at {locs.get(lo, lo)}"
            )
        near = set()
        for v in {x, *(x[:i] + x[i + 1 :] for i in range(len(x)))}:
            near |= by_deletion.get(v, set())
        seen = {x}
        for kind, ks in (
            ("leading zeros differ", by_stripped.get(x.lstrip("0"), [])),
            ("O/0 or I/1 mixed up", by_lookalike.get(x.translate(_LOOKALIKE), [])),
            ("one character different", [k for k in near if _one_edit(x, k)]),
        ):
            for k in sorted(set(ks) - seen):
                seen.add(k)
                for a, days in here[k]:
                    add(f"{k} ({kind}), held by account {a} ({_name(ref, a)}){_days(days)}")
        out[code] = found[:limit]
    return out
