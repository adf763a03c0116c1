"""Nested sidecar values (lineage, losses, architecture arguments) as readable HTML
instead of raw JSON.  No Qt."""

from __future__ import annotations

import html

#: a training stage's fields in the order a reader wants them, with their words
STAGE_WORDS = {"updates": "updates", "batch": "batch", "lr": "learning rate", "anisotropic": "per-axis zooms",
               "ema": "running average", "resumed_from": "resumed from"}


def _scalar(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    return html.escape(str(v))


def _flat(d: dict) -> bool:
    return all(not isinstance(v, (dict, list)) for v in d.values())


def _stage(d: dict) -> str:
    """One training stage on a line or two: name, updates, data, losses, the rest."""
    head = f"<b>{html.escape(str(d['name']))}</b>"
    bits = []
    for k in ("updates", "batch", "lr", "anisotropic", "ema", "resumed_from"):
        if k in d:
            v = d[k]
            if k == "anisotropic" and isinstance(v, (int, float)):
                bits.append(f"{STAGE_WORDS[k]} {v:.0%}")
            elif k == "updates":
                bits.append(f"{_scalar(v)} updates")
            else:
                bits.append(f"{STAGE_WORDS[k]} {_scalar(v)}")
    losses = d.get("losses")
    if isinstance(losses, dict):
        used = [f"{html.escape(str(k))} {_scalar(w)}" for k, w in losses.items() if w]
        bits.append("loss " + (" + ".join(used) or "none"))
    rest = {k: v for k, v in d.items() if k not in ("name", "data", "losses", *STAGE_WORDS)}
    text = head + ": " + ", ".join(bits)
    if rest:
        text += "; " + readable(rest)
    data = d.get("data")
    if data:
        text += "<br>data: " + readable(data)
    return text


def readable(v) -> str:
    """``v`` (from JSON) as HTML: flat dicts on one line, lists of stages as numbered
    lists, a stage started from other weights with that file's own stages nested."""
    if isinstance(v, dict):
        if "name" in v and ("updates" in v or "losses" in v):
            return _stage(v)
        if "init" in v:
            text = f"started from <b>{_scalar(v['init'])}</b>"
            if "sha256" in v:
                text += f" (sha256 {_scalar(str(v['sha256'])[:12])}…)"
            if "updates" in v:
                text += f", {_scalar(v['updates'])} updates"
            rest = {k: x for k, x in v.items() if k not in ("init", "sha256", "updates", "stages")}
            if rest:
                text += "; " + readable(rest)
            if v.get("stages"):
                text += ", made by:" + readable(v["stages"])
            return text
        if _flat(v):
            return ", ".join(f"{html.escape(str(k))} {_scalar(x)}" for k, x in v.items()) or "—"
        return "<ul>" + "".join(f"<li>{html.escape(str(k))}: {readable(x)}</li>" for k, x in v.items()) + "</ul>"
    if isinstance(v, list):
        if all(not isinstance(x, (dict, list)) for x in v):
            return ", ".join(_scalar(x) for x in v) or "—"
        return "<ol>" + "".join(f"<li>{readable(x)}</li>" for x in v) + "</ol>"
    return _scalar(v)
