"""A campaign's results folder: its lock (one campaign writes it at a time) and its manifest (which campaign,
begun when, by which spec and stopping policy), so a resumed campaign is refused if it is not the same one."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from hwprof.campaign.spec import CampaignSpec
from hwprof.data import schema
from hwprof.data.store import ResultStore, new_id, stamp

MANIFEST = "campaign.json"


class CampaignError(Exception):
    """A campaign that cannot start or continue, with the one line that says why."""


class Lock:
    """An exclusive lock on a results folder, so two campaigns never write the same runs."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        self.path = root / ".campaign.lock"
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise CampaignError(f"another hwprof campaign is running in {root}") from None

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def manifest(root: Path, spec: CampaignSpec, resume: bool) -> dict:
    """Start or continue the campaign's manifest; refuse to mix two campaigns in one folder."""
    path = root / MANIFEST
    if path.exists():
        old = json.loads(path.read_text())
        if not resume:
            raise CampaignError(f"{root} already holds campaign {old.get('name')!r}: --resume continues it, "
                                "or choose another --results folder")
        if old.get("digest") != spec.digest:
            raise CampaignError(_changed(root, spec, old))
        return old
    if resume:
        raise CampaignError(f"nothing to resume in {root}: no {MANIFEST} there")
    if ResultStore(root).run_files():
        raise CampaignError(f"{root} already holds results from other runs: choose an empty --results folder")
    return {"format_version": schema.FORMAT_VERSION, "campaign_id": new_id(), "name": spec.name,
            "title": spec.title, "digest": spec.digest, "seed": spec.seed, "source": spec.source,
            "repetitions": spec.repetitions.__dict__, "cells": [c.key for c in spec.cells], "started": stamp()}


def _changed(root: Path, spec: CampaignSpec, old: dict) -> str:
    """Why a resumed campaign is not the one in its folder: its stopping policy, or else its spec."""
    began = old.get("repetitions") or {}
    was = {"statistic": began.get("statistic", "mean"), "exclude_disturbed": began.get("exclude_disturbed", False)}
    now = {k: spec.repetitions.__dict__[k] for k in was}
    if was != now:
        flags = " ".join(f"--statistic {v}" if k == "statistic" else
                         ("--exclude-disturbed" if v else "--keep-disturbed") for k, v in was.items())
        return (f"campaign {old.get('name')!r} in {root} began with statistic {was['statistic']}, exclude_disturbed "
                f"{str(was['exclude_disturbed']).lower()}; this run asks for statistic {now['statistic']}, "
                f"exclude_disturbed {str(now['exclude_disturbed']).lower()}: a resumed campaign must stop by the "
                f"same policy (resume with {flags}, or start a new --results folder)")
    return (f"{spec.source} has changed since campaign {old.get('name')!r} began in {root} (other cells, "
            "repetitions or pairs): start it in a new --results folder")
