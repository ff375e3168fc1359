"""Characterization campaigns: many workloads x targets, repeated adaptively, resumable (`hwprof campaign`)."""

from hwprof.campaign.runner import CampaignError, CampaignResult, CampaignProgress, run_campaign  # noqa: F401
from hwprof.campaign.spec import CampaignSpec, Cell, SpecError, load, parse  # noqa: F401
