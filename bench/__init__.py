"""The national-scale benchmark of planwatch (`make bench`, `python -m bench.run`); see bench/README.md."""
