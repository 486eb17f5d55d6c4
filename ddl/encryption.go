package ddl

import (
	"context"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sqlplan"
)

func keyNames(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// checkEncryptionKey refuses an encryption_key option that names no
// configured key (22023). The message names the option and the value
// given, never the configured names nor any key material.
func (x *Executor) checkEncryptionKey(opts map[string]string) error {
	name := opts["encryption_key"]
	if name == "" || x.keys[name] {
		return nil
	}
	return &pgerr.Error{Code: pgerrcode.InvalidParameterValue,
		Message: "invalid value for option \"encryption_key\": no encryption key named \"" + name + "\" is configured",
		Hint:    "Keys are configured in the gateway's encryption_keys (docs/security.md); the option names one."}
}

// checkAlterEncryption checks an ALTER ... SET (encryption_key = ...): the
// key is configured and the object's columns can be encrypted (the change
// applies from the next refresh or run, which must not fail for it).
func (x *Executor) checkAlterEncryption(ctx context.Context, ref catalog.Ref, kind catalog.Kind, opts map[string]string) error {
	if opts["encryption_key"] == "" {
		return nil
	}
	if err := x.checkEncryptionKey(opts); err != nil {
		return err
	}
	var cols []sqlplan.Column
	if kind == catalog.KindPipeline {
		p, err := x.cat.GetPipeline(ctx, ref)
		if err != nil {
			return err
		}
		for _, c := range p.Columns {
			cols = append(cols, sqlplan.Column{Name: c.Name, Type: c.Type})
		}
	} else {
		v, err := x.cat.GetView(ctx, ref)
		if err != nil {
			return err
		}
		if cols, err = x.mat.Describe(ctx, v.Query); err != nil {
			return err
		}
	}
	return sqlplan.CheckEncryptable(cols)
}
