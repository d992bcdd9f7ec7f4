"""The Deliberative Poll: instrument, waves, packets, groups and analysis (DataFrame in, tidy DataFrame out).

Pure core: no files, sockets, clock, environment or global random state.
"""
