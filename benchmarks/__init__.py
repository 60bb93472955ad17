"""rxsteps' benchmarks: an importable package, so the tests can share its helpers.

Run every benchmark from a clone, side by side, each system in its own fresh
interpreter::

    .venv/bin/python -m benchmarks            # the full run, a few minutes
    .venv/bin/python -m benchmarks --quick    # a smoke run, seconds; the figures mean nothing

Modules:

- :mod:`benchmarks.run` — the entry point: sections, subprocesses, Markdown, JSON;
- :mod:`benchmarks.child` — what runs in each subprocess;
- :mod:`benchmarks.timing` — the shared timers (median and best of N, percentiles, peak RSS);
- :mod:`benchmarks.workloads` — the seeded DAGs and the systems that run them;
- :mod:`benchmarks.bench_engine` — µs/step end to end, build cost, peak RSS, makespan;
- :mod:`benchmarks.bench_pipeline` — pipeline events/s and streaming latency;
- :mod:`benchmarks.bench_scale` — cycle detection on big graphs, CPU-bound steps on processes;
- :mod:`benchmarks.bench_dask` — rxsteps on a Dask ``LocalCluster`` against Dask itself;
- :mod:`benchmarks.profile_engine` — where the time per step goes (cProfile, every thread);
- :mod:`benchmarks.soak` — long sequences of runs stay flat (also used by the tests).
"""
