package main

import (
	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/internal/metrics"
	"github.com/sluice-db/sluice/materialize"
)

// gatewayObserver is m as the gateway's Observer: nil (no recording at
// all) when metrics are off.
func gatewayObserver(m *metrics.Metrics) gateway.Observer {
	if m == nil {
		return nil
	}
	return m
}

// objectCache is the object storage's cache, for its metrics; nil without
// object storage.
func objectCache(st materialize.Storage) metrics.ObjectCache {
	c, _ := st.(metrics.ObjectCache)
	return c
}
