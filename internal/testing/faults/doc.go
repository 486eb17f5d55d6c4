// Package faults holds fault-injection tests: each runs the real gateway
// binary against a real neighbour (a small tmpfs data directory, versitygw,
// a Kafka-protocol broker, PostgreSQL 15, an HTTP server), kills or starves
// that neighbour in the middle of a refresh or a pipeline run, and checks
// the exact rows afterwards: the failed run reports a clear SQLSTATE, the
// last good version stays readable, and the next run after recovery holds
// every row exactly once. docs/reliability.md ("Faults") records them. The
// package has no code of its own.
package faults
