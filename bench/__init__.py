"""The describeImages throughput benchmark (`make bench`, or `python -m bench.run`)."""
