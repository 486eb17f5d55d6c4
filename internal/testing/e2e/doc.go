// Package e2e holds end-to-end tests: they build cmd/gateway once, run the
// real binary as a separate process on a free port and a temporary data
// directory, and drive it with the real psql and with pgx (quickstart,
// restart, crash during a refresh). The package has no code of its own.
package e2e
