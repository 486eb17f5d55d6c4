package ddl

import (
	"context"
	"strings"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors/files"
	"github.com/sluice-db/sluice/materialize"
	"github.com/sluice-db/sluice/sql"
)

func (x *Executor) createSource(ctx context.Context, st *sql.CreateSource) (Result, error) {
	const tag = "CREATE SOURCE"
	ref := resolve(st.Name)
	if res, taken, err := x.claimName(ctx, ref, st.IfNotExists, tag); taken || err != nil {
		return res, err
	}
	if err := x.requireCreate(ref.Schema); err != nil {
		return Result{}, err
	}
	if st.Connector != "files" {
		return x.createConnectorSource(ctx, st, ref)
	}
	var scan *files.Scan
	var err error
	if files.IsRemote(st.Location) {
		scan, err = files.NewRemote(st.Location, optionMap(st.Options), x.remote)
	} else {
		scan, err = files.New(st.Location, x.baseDir, optionMap(st.Options))
	}
	if err != nil {
		return Result{}, err
	}
	// The files are read as the creator may, checked now (42501 at
	// CREATE, not at the first read), before DuckDB binds them.
	if err := x.requireFiles(scan.Path); err != nil {
		return Result{}, err
	}
	// Fail now, not at the first SELECT, when the files cannot be read.
	if _, err := x.mat.Describe(ctx, scan.SQL()); err != nil {
		return Result{}, err
	}
	id, err := x.cat.NextID(ctx)
	if err != nil {
		return Result{}, err
	}
	src := catalog.Source{ID: id, Ref: ref, Connector: "files", Location: scan.Path, Options: scan.Options}
	src.Owner, src.ACL = x.owned(ref, catalog.KindSource)
	if err := x.cat.CreateSource(ctx, src, scan.SQL()); err != nil {
		return Result{}, err
	}
	return done(tag), nil
}

// createConnectorSource opens a KAFKA, POSTGRES or HTTP source (the
// connector validates its options and reaches the endpoint), fixes its
// schema in the catalog and defines its view over the engine's scan
// function.
func (x *Executor) createConnectorSource(ctx context.Context, st *sql.CreateSource, ref catalog.Ref) (Result, error) {
	const tag = "CREATE SOURCE"
	if err := x.requireConnector(st.Connector); err != nil {
		return Result{}, err
	}
	if ca, ok := optionMap(st.Options)["ca_file"]; ok && x.snap() != nil {
		if err := x.actor.Check.Roots().Check(ca); err != nil {
			return Result{}, err
		}
	}
	options, err := x.sourceOptions(ctx, st) // secrets.go: credentials resolved, and how they are shown
	if err != nil {
		return Result{}, err
	}
	src, schema, err := x.sources.Create(ctx, st.Connector, st.Location, options.open)
	if err != nil {
		return Result{}, err
	}
	id, err := x.cat.NextID(ctx)
	if err != nil {
		src.Close()
		return Result{}, err
	}
	// The view binds at creation: the source must be open under its id.
	x.sources.Put(id, src)
	rec := catalog.Source{ID: id, Ref: ref, Connector: strings.ToLower(st.Connector), Location: st.Location, Options: options.display, Schema: schema,
		Credentials: options.stored(x.sources.Keyring(), id)}
	rec.Owner, rec.ACL = x.owned(ref, catalog.KindSource)
	if err := x.cat.CreateSource(ctx, rec, materialize.ViewSQL(id, src)); err != nil {
		x.sources.Forget(id)
		return Result{}, err
	}
	return done(tag), nil
}
