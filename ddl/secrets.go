package ddl

// Secrets: CREATE / ALTER / DROP SECRET, and the credential options of
// connector sources (connectors.OptionSpec.Secret), resolved here at
// CREATE SOURCE and by materialize.Sources at every later open.

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/access"
	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/connectors"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/sql"
)

// execSecret runs CREATE, ALTER or DROP SECRET.
func (x *Executor) execSecret(ctx context.Context, st sql.Statement) (Result, error) {
	switch st := st.(type) {
	case *sql.CreateSecret:
		return x.createSecret(ctx, st)
	case *sql.AlterSecret:
		return x.alterSecret(ctx, st)
	case *sql.DropSecret:
		return x.dropSecret(ctx, st)
	}
	return Result{}, pgerr.Unsupported("statement %T is not a secret statement", st)
}

// CREATE SECRET [IF NOT EXISTS] name AS 'value': sealed with the secrets
// key, owned by the session's user. Secrets have a namespace of their own
// (a secret and a table may share a name), in schemas like other objects.
func (x *Executor) createSecret(ctx context.Context, st *sql.CreateSecret) (Result, error) {
	const tag = "CREATE SECRET"
	k := x.sources.Keyring()
	if k == nil {
		return Result{}, errNoSecretsKey()
	}
	ref := resolve(st.Name)
	if err := x.checkSchema(ctx, ref); err != nil {
		return Result{}, err
	}
	if err := x.requireCreate(ref.Schema); err != nil {
		return Result{}, err
	}
	err := x.cat.CreateSecret(ctx, k, ref, x.actor.Role, []byte(st.Value))
	if st.IfNotExists && pgerr.Code(err) == pgerrcode.DuplicateObject {
		return done(tag, notice(pgerrcode.DuplicateObject, "secret %q already exists, skipping", ref.Name)), nil
	}
	if err != nil {
		return Result{}, err
	}
	// Its owner, for GRANT USAGE ON SECRET and the checks of its users.
	if err := x.cat.SetACL(ctx, catalog.ObjectACL{Object: secretObject(ref), Owner: x.actor.Role}); err != nil {
		return Result{}, err
	}
	return done(tag), nil
}

// ALTER SECRET [IF EXISTS] name AS 'value'. The sources that use the
// secret are closed, so each reopens with the new value at its next read;
// a read already running finishes with the old one.
func (x *Executor) alterSecret(ctx context.Context, st *sql.AlterSecret) (Result, error) {
	const tag = "ALTER SECRET"
	k := x.sources.Keyring()
	if k == nil {
		return Result{}, errNoSecretsKey()
	}
	ref := resolve(st.Name)
	if sec, err := x.cat.GetSecret(ctx, ref); err == nil {
		if err := x.requireSecret(ref, sec.Owner, 0, ""); err != nil {
			return Result{}, err
		}
	}
	err := x.cat.AlterSecret(ctx, k, ref, []byte(st.Value))
	if st.IfExists && pgerr.Code(err) == pgerrcode.UndefinedObject {
		return done(tag, notice(pgerrcode.UndefinedObject, "secret %q does not exist, skipping", ref.Name)), nil
	}
	if err != nil {
		return Result{}, err
	}
	ids, err := x.cat.SecretSources(ctx, ref)
	if err != nil {
		return Result{}, err
	}
	for _, id := range ids {
		x.sources.Forget(id)
	}
	return done(tag), nil
}

// DROP SECRET [IF EXISTS] name [, ...] [CASCADE | RESTRICT]: every name is
// checked before any is dropped; a secret that sources use is 2BP01, unless
// CASCADE, which drops those sources (and what reads them) first.
func (x *Executor) dropSecret(ctx context.Context, st *sql.DropSecret) (Result, error) {
	const tag = "DROP SECRET"
	var notices []*pgerr.Error
	var refs []catalog.Ref
	var users []sql.Name
	for _, n := range st.Names {
		ref := resolve(n)
		sec, err := x.cat.GetSecret(ctx, ref)
		if err != nil {
			if st.IfExists && pgerr.Code(err) == pgerrcode.UndefinedObject {
				notices = append(notices, notice(pgerrcode.SuccessfulCompletion, "secret %q does not exist, skipping", ref.Name))
				continue
			}
			return Result{}, err
		}
		if err := x.requireSecret(ref, sec.Owner, 0, ""); err != nil {
			return Result{}, err
		}
		used, err := x.cat.SecretUsers(ctx, ref)
		if err != nil {
			return Result{}, err
		}
		if len(used) > 0 && !st.Cascade {
			return Result{}, catalog.SecretInUse(ref, used) // 2BP01, naming the sources
		}
		for _, u := range used {
			users = append(users, sql.Name{Schema: u.Schema, Name: u.Name})
		}
		refs = append(refs, ref)
	}
	if len(users) > 0 {
		res, err := x.drop(ctx, &sql.Drop{Kind: sql.KindSource, Names: users, IfExists: true, Cascade: true})
		if err != nil {
			return Result{}, err
		}
		for _, u := range users {
			notices = append(notices, notice(pgerrcode.SuccessfulCompletion, "drop cascades to source %s", u.Name))
		}
		notices = append(notices, res.Notices...)
	}
	for _, ref := range refs {
		if err := x.cat.DropSecret(ctx, ref); err != nil {
			return Result{}, err
		}
	}
	return done(tag, notices...), nil
}

// checkSchema is 3F000 when ref's schema does not exist.
func (x *Executor) checkSchema(ctx context.Context, ref catalog.Ref) error {
	ok, err := x.cat.SchemaExists(ctx, ref.Schema)
	if err == nil && !ok {
		err = pgerr.New(pgerrcode.InvalidSchemaName, "schema %q does not exist", ref.Schema)
	}
	return err
}

func errNoSecretsKey() error {
	e := pgerr.Unsupported("CREATE SECRET and ALTER SECRET need a secrets key, and this gateway has none configured")
	e.Hint = "Configure secrets.key_file or secrets.key_env: the base64 of 32 random bytes (openssl rand -base64 32). See docs/security.md, Secrets."
	return e
}

// refuseSecretRefs refuses secret references where no credential can be:
// the options of FILES sources, materialized views and pipelines.
func refuseSecretRefs(st sql.Statement) error {
	var opts []sql.Option
	switch st := st.(type) {
	case *sql.CreateSource:
		if st.Connector != "files" {
			return nil // sourceOptions judges them
		}
		opts = st.Options
	case *sql.CreateMaterializedView:
		opts = st.Options
	case *sql.CreatePipeline:
		opts = st.Options
	case *sql.AlterObject:
		opts = st.Options
	}
	for _, o := range opts {
		if o.Value.Kind == sql.ValueSecret {
			return pgerr.InvalidParameter("option %q does not take a secret reference: only the credential options of connector sources do", o.Key).WithPosition(o.Pos)
		}
	}
	return nil
}

// sourceOptions are a connector source's options split for the catalog.
type sourceOptions struct {
	open    map[string]string // what the connector opens with: credentials resolved
	display map[string]string // sluice.sources.options: credentials as references or masked
	creds   []catalog.Credential
	plain   map[string]string // the values of the plain credentials, sealed by stored
}

// stored is the credentials to record for source id, plain values sealed
// with k (kept in the clear when k is nil).
func (o sourceOptions) stored(k *catalog.Keyring, id int64) []catalog.Credential {
	out := make([]catalog.Credential, 0, len(o.creds))
	for _, c := range o.creds {
		if c.Form == catalog.CredentialPlain {
			c = catalog.PlainCredential(k, id, c.Option, o.plain[c.Option])
		}
		out = append(out, c)
	}
	return out
}

// credentialGiven is the first option that gave a credential.
type credentialGiven struct {
	key string
	pos int
}

// sourceOptions resolves CREATE SOURCE's options: each credential option of
// the connector in exactly one of its forms (two are 42601), a secret
// reference only for a credential (22023), an unknown secret 42704. The
// _env and _file forms read the gateway's own environment and files, so
// allowServerSecrets is asked first. Other options are left to the
// connector to validate.
func (x *Executor) sourceOptions(ctx context.Context, st *sql.CreateSource) (sourceOptions, error) {
	o := sourceOptions{open: map[string]string{}, display: map[string]string{}, plain: map[string]string{}}
	c, ok := x.sources.Registry().Lookup(st.Connector)
	if !ok {
		return o, nil // sources.Create says there is no such connector
	}
	specs := c.Options()
	given := map[string]credentialGiven{}
	for _, opt := range st.Options {
		option, form, isCred := specs.CredentialKey(opt.Key)
		if !isCred {
			if opt.Value.Kind == sql.ValueSecret {
				return o, pgerr.InvalidParameter("option %q does not take a secret reference: only credential options do (%s: %s)",
					opt.Key, strings.ToUpper(st.Connector), credentialList(specs)).WithPosition(opt.Pos)
			}
			o.open[opt.Key], o.display[opt.Key] = opt.Value.Text, opt.Value.Text
			continue
		}
		if prev, dup := given[option]; dup {
			e := pgerr.Syntax(opt.Pos, "conflicting or redundant options")
			e.Detail = fmt.Sprintf("Options %q and %q both give the credential %q: give exactly one of %s = '...', %s = SECRET name, %s_env and %s_file.",
				prev.key, opt.Key, option, option, option, option, option)
			return o, e
		}
		given[option] = credentialGiven{opt.Key, opt.Pos}
		if opt.Value.Kind == sql.ValueSecret {
			if form != connectors.FormPlain {
				return o, pgerr.InvalidParameter("option %q takes %s, not a secret reference", opt.Key, map[connectors.Form]string{
					connectors.FormEnv: "the name of an environment variable", connectors.FormFile: "an absolute path"}[form]).WithPosition(opt.Pos)
			}
			form = connectors.FormSecret
		}
		spec, _ := specs.Spec(option)
		c := catalog.Credential{Option: option, Form: string(form)}
		var shown, value string
		var err error
		switch form {
		case connectors.FormPlain:
			value = opt.Value.Text
			if spec.Redact != nil && spec.Redact(value) == value { // holds no secret: a plain option
				o.open[option], o.display[option] = value, value
				continue
			}
			o.plain[option] = value
		case connectors.FormSecret:
			c.Secret = resolve(opt.Value.Secret)
			shown = secretName(c.Secret)
			var sec catalog.Secret
			if sec, err = x.cat.GetSecret(ctx, c.Secret); err == nil {
				err = x.requireSecret(c.Secret, sec.Owner, access.Usage, "USAGE")
			}
			if err == nil {
				value, err = x.sources.Credential(ctx, 0, c)
			}
		case connectors.FormEnv, connectors.FormFile:
			c.Ref, shown = opt.Value.Text, opt.Value.Text
			if err = x.allowServerSecrets(ctx); err == nil {
				value, err = x.sources.Credential(ctx, 0, c)
			}
		}
		if err != nil {
			if pe, ok := err.(*pgerr.Error); ok && pe.Position == 0 {
				err = pe.WithPosition(opt.Pos)
			}
			return o, err
		}
		o.open[option], o.display[option] = value, spec.Display(form, shown, value)
		o.creds = append(o.creds, c)
	}
	return o, nil
}

// allowServerSecrets refuses an option's _env or _file form to roles that
// are not superusers: it reads the gateway's own environment or files, and
// the source would send what it read to a server of the role's choosing.
func (x *Executor) allowServerSecrets(ctx context.Context) error {
	if x.actor.Check == nil || x.actor.Check.Snapshot().Superuser(x.actor.Role) {
		return nil
	}
	e := pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to read credentials from the gateway's environment or files")
	e.Detail = "Only superusers may give an option's _env or _file form; others give the credential as SECRET name or in clear."
	return e
}

// secretName is how a secret reference is shown: unqualified in public.
func secretName(ref catalog.Ref) string {
	if ref.Schema == defaultSchema {
		return sql.QuoteIdent(ref.Name)
	}
	return sql.QuoteIdent(ref.Schema) + "." + sql.QuoteIdent(ref.Name)
}

func credentialList(specs connectors.Specs) string {
	if c := specs.Credentials(); len(c) > 0 {
		return strings.Join(c, ", ")
	}
	return "none"
}
