"""A front-end model (DSB / op cache, legacy decode, L1I) fed by a dynamic instruction stream."""
