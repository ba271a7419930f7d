"""Stand-ins of the outside world (vendor simulators, a Slack Web API) for tests, benchmarks and offline mode."""
