"""Running the stages: the pipeline, run log, locks, schedule and command line."""
