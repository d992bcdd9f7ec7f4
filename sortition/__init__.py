"""The citizen lottery: registry, letters (stage 1), quotas, selection (stage 2), alternates.

Pure core: no files, sockets, clock, environment or global random state.
"""
