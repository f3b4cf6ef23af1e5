"""Benchmarks (``her-desktop bench ...``): medians over several runs, written as JSON."""
