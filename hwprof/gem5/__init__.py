"""gem5 simulations of hwprof workloads: generated cache and branch-predictor sweep configurations
(config), static SE-mode binaries whose kernel is marked with m5 ops (binaries), and stats.txt parsing
(stats). Written against gem5's standard library as of v24.0; gem5 itself is not needed to generate.
"""

GEM5_VERSION = "24.0"
