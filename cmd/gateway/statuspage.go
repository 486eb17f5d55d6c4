package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/sluice-db/sluice/admin/status"
	"github.com/sluice-db/sluice/internal/gateway"
	"github.com/sluice-db/sluice/wire"
)

// newStatusPage is the admin listener's status page over g, logging in
// with auth's users and roles; nil when auth cannot check a typed password.
func newStatusPage(g *gateway.Gateway, auth wire.Authenticator, cfg Config, logger *slog.Logger) *status.Handler {
	pa, ok := auth.(status.Authenticator)
	if !ok {
		return nil
	}
	return status.New(status.Options{
		Backend:    statusBackend{g},
		Auth:       pa,
		Logger:     logger,
		RequireTLS: cfg.RequireTLS,
	})
}

// statusHandler is page as the admin listener's Status: nil (no status
// page) when page is nil.
func statusHandler(page *status.Handler) http.Handler {
	if page == nil {
		return nil
	}
	return page
}

// statusBackend is the gateway as the status page sees it.
type statusBackend struct{ g *gateway.Gateway }

func (b statusBackend) QueryAs(ctx context.Context, role, query string) (*status.Result, error) {
	res, err := b.g.QueryAs(ctx, role, query)
	if err != nil {
		return nil, err
	}
	return &status.Result{Columns: res.Columns, Rows: res.Rows}, nil
}

func (b statusBackend) Running() []status.Progress {
	runs := b.g.Running()
	out := make([]status.Progress, len(runs))
	for i, r := range runs {
		out[i] = status.Progress{RunID: r.RunID, Phase: r.Phase, Rows: r.Rows, Files: r.Files, Bytes: r.Bytes}
	}
	return out
}
