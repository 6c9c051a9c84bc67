"""Stand-in programs that speak a proof assistant's protocol, for tests on machines without it."""
