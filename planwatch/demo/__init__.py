"""Simulated data for the demo and tests: the simulator, its reference regions, crash points."""
