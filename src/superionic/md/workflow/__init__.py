"""MD as jobflow flows: makers per temperature, checkpointed segments, extension rounds,
runs collected from segments, trajectories read back from the JobStore, analysis jobs, and
the local runner that files the documents."""
