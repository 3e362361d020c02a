"""Benchmarks: each module `bench/<name>.py` with a `main(argv)` writes JSON and Markdown to bench/results/."""
