// Package ops tests what an operator of Sluice relies on, against the real
// gateway binary: its Prometheus metrics scraped by a real Prometheus
// (Debian's prometheus package, started by the tests with a configuration
// of their own), the alerting rules of docs/prometheus/alerts.yml, the
// Grafana dashboard of docs/grafana, and the run ids in the log.
package ops
