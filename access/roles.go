// Package access decides who may do what in Sluice. Today it runs the role
// statements (CREATE, ALTER and DROP ROLE and USER) over the catalog's
// roles.
package access

// CREATE / ALTER / DROP ROLE and USER. Roles live in the catalog
// (sluice.roles) with their password as a SCRAM-SHA-256 verifier only, and
// log in through wire.PasswordAuth, which finds them with LookupRole. The
// users of the configuration file come first: their names cannot be taken
// by a role, and they cannot be changed in SQL.
//
// Like Sluice's other statements, these take effect when issued, also in a
// transaction block, and ROLLBACK does not undo them. Sluice has no
// privileges: any connected user may run them, and every role may use
// every object.

import (
	"context"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/catalog"
	"github.com/sluice-db/sluice/internal/pgerr"
	"github.com/sluice-db/sluice/internal/scram"
	"github.com/sluice-db/sluice/sql"
)

// builtinRole is the role pg_roles lists, the user of the embedded default.
const builtinRole = "sluice"

// maxRoleName is PostgreSQL's NAMEDATALEN - 1.
const maxRoleName = 63

// Roles runs the role statements.
type Roles struct {
	cat *catalog.Store
	// configUser reports whether a name is a user of the gateway's
	// configuration file.
	configUser func(string) bool
}

// NewRoles returns the role statements over the catalog's roles; isConfigUser
// tells the configuration file's users (nil: none).
func NewRoles(cat *catalog.Store, isConfigUser func(string) bool) *Roles {
	if isConfigUser == nil {
		isConfigUser = func(string) bool { return false }
	}
	return &Roles{cat: cat, configUser: isConfigUser}
}

// Exec runs CREATE, ALTER or DROP ROLE as the session user user. It returns
// the command tag and the notices to send first.
func (r *Roles) Exec(ctx context.Context, st sql.Statement, user string) (string, []*pgerr.Error, error) {
	switch st := st.(type) {
	case *sql.CreateRole:
		return r.createRole(ctx, st)
	case *sql.AlterRole:
		return r.alterRole(ctx, st, user)
	case *sql.DropRole:
		return r.dropRole(ctx, st, user)
	}
	return "", nil, pgerr.Unsupported("statement %T is not a role statement", st)
}

// notInSQL refuses to change a role that SQL does not own.
func (r *Roles) notInSQL(name string) error {
	switch {
	case r.configUser(name):
		e := pgerr.Unsupported("role \"%s\" is defined in the gateway's configuration file", name)
		e.Hint = "Change it in the users list of the configuration file."
		return e
	case name == builtinRole:
		return pgerr.Unsupported("role \"%s\" is built in and cannot be changed", name)
	}
	return nil
}

// checkNewRoleName applies PostgreSQL's rules to the name of a new role.
func (r *Roles) checkNewRoleName(name string) error {
	switch {
	case name == "public" || name == "none" || strings.HasPrefix(name, "pg_"):
		e := pgerr.New(pgerrcode.ReservedName, "role name \"%s\" is reserved", name)
		if strings.HasPrefix(name, "pg_") {
			e.Detail = "Role names starting with \"pg_\" are reserved."
		}
		return e
	case len(name) > maxRoleName:
		return pgerr.New(pgerrcode.NameTooLong, "role name \"%s\" is too long (at most %d bytes)", name, maxRoleName)
	case r.configUser(name), name == builtinRole:
		return pgerr.New(pgerrcode.DuplicateObject, "role \"%s\" already exists", name)
	}
	return nil
}

// roleSettings is what the options of CREATE / ALTER ROLE set.
type roleSettings struct {
	login    *bool
	password *string // "" clears it (PASSWORD NULL)
}

// roleOptions checks each option against what Sluice honours. LOGIN,
// NOLOGIN and PASSWORD are kept. Options that state what Sluice does anyway
// (every role may do everything, nobody replicates, there are no role
// memberships nor row security) are accepted. Options that would promise a
// restriction or a feature Sluice does not have are refused with 0A000:
// accepting them would claim a protection that does not exist.
func roleOptions(opts []sql.RoleOption) (roleSettings, []*pgerr.Error, error) {
	var rs roleSettings
	var notices []*pgerr.Error
	for _, o := range opts {
		var err *pgerr.Error
		switch o.Name {
		case "LOGIN", "NOLOGIN":
			v := o.Name == "LOGIN"
			rs.login = &v
		case "PASSWORD":
			v, notice, perr := verifierFor(o)
			if perr != nil {
				return rs, nil, perr
			}
			if notice != nil {
				notices = append(notices, notice)
			}
			rs.password = &v
		case "SUPERUSER", "CREATEROLE", "INHERIT", "NOINHERIT", "BYPASSRLS", "NOBYPASSRLS", "NOCREATEDB", "NOREPLICATION":
		case "NOSUPERUSER", "NOCREATEROLE":
			err = pgerr.Unsupported("%s cannot be honoured: Sluice has no privileges, every role may use every object and run every statement", o.Name)
		case "CREATEDB":
			err = pgerr.Unsupported("CREATEDB cannot be honoured: Sluice serves one database")
		case "REPLICATION":
			err = pgerr.Unsupported("REPLICATION cannot be honoured: Sluice does not support replication")
		case "CONNECTION LIMIT":
			if o.Value != "-1" {
				err = pgerr.Unsupported("CONNECTION LIMIT cannot be honoured: Sluice limits connections for the whole server only (max_connections)")
			}
		case "VALID UNTIL":
			if !strings.EqualFold(strings.TrimSpace(o.Value), "infinity") {
				err = pgerr.Unsupported("VALID UNTIL cannot be honoured: Sluice's passwords do not expire")
			}
		default: // IN ROLE, IN GROUP, ROLE, ADMIN, USER, SYSID
			err = pgerr.Unsupported("%s is not supported: Sluice has no role memberships", o.Name)
		}
		if err != nil {
			if o.Pos > 0 {
				err = err.WithPosition(o.Pos)
			}
			return rs, nil, err
		}
	}
	return rs, notices, nil
}

// verifierFor turns a PASSWORD option into the SCRAM-SHA-256 verifier to
// store ("" for none). A value that is already a SCRAM-SHA-256 verifier (as
// psql's \password sends) is stored as it is; an md5 hash is refused, since
// Sluice stores SCRAM verifiers only.
func verifierFor(o sql.RoleOption) (string, *pgerr.Error, *pgerr.Error) {
	switch {
	case o.Null:
		return "", nil, nil
	case o.Value == "":
		n := pgerr.New(pgerrcode.SuccessfulCompletion, "empty string is not a valid password, clearing password")
		n.Severity = "NOTICE"
		return "", n, nil
	case strings.HasPrefix(o.Value, "SCRAM-SHA-256$"):
		v, err := scram.Parse(o.Value)
		if err != nil {
			return "", nil, pgerr.InvalidParameter("malformed SCRAM-SHA-256 verifier: %v", err)
		}
		return v.String(), nil, nil
	case isMD5Hash(o.Value):
		e := pgerr.Unsupported("md5 password hashes are not accepted: Sluice stores SCRAM-SHA-256 verifiers only")
		e.Hint = "Give the password itself, or a SCRAM-SHA-256 verifier."
		return "", nil, e
	}
	v, err := scram.New(o.Value, scram.DefaultIterations)
	if err != nil {
		return "", nil, pgerr.New(pgerrcode.InternalError, "deriving the SCRAM verifier: %v", err)
	}
	return v.String(), nil, nil
}

func isMD5Hash(s string) bool {
	h, ok := strings.CutPrefix(s, "md5")
	if !ok || len(h) != 32 {
		return false
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// createRole runs CREATE ROLE / CREATE USER.
func (r *Roles) createRole(ctx context.Context, st *sql.CreateRole) (string, []*pgerr.Error, error) {
	if err := r.checkNewRoleName(st.Name); err != nil {
		return "", nil, err
	}
	rs, notices, err := roleOptions(st.Options)
	if err != nil {
		return "", nil, err
	}
	role := catalog.Role{Name: st.Name, Login: st.User}
	if rs.login != nil {
		role.Login = *rs.login
	}
	if rs.password != nil {
		role.Verifier = *rs.password
	}
	if err := r.cat.CreateRole(ctx, role); err != nil {
		return "", nil, err
	}
	return "CREATE ROLE", notices, nil
}

// alterRole runs ALTER ROLE / ALTER USER.
func (r *Roles) alterRole(ctx context.Context, st *sql.AlterRole, user string) (string, []*pgerr.Error, error) {
	if st.SetConfig {
		return "", nil, pgerr.Unsupported("ALTER ROLE ... SET is not supported: Sluice has no per-role settings")
	}
	name := st.Name
	if st.Current {
		name = user
	}
	if err := r.notInSQL(name); err != nil {
		return "", nil, err
	}
	if st.RenameTo != "" {
		if name == user {
			return "", nil, pgerr.New(pgerrcode.FeatureNotSupported, "session user cannot be renamed")
		}
		if err := r.checkNewRoleName(st.RenameTo); err != nil {
			return "", nil, err
		}
	}
	rs, notices, err := roleOptions(st.Options)
	if err != nil {
		return "", nil, err
	}
	err = r.cat.AlterRole(ctx, name, func(role *catalog.Role) error {
		if rs.login != nil {
			role.Login = *rs.login
		}
		if rs.password != nil {
			role.Verifier = *rs.password
		}
		if st.RenameTo != "" {
			role.Name = st.RenameTo
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return "ALTER ROLE", notices, nil
}

// dropRole runs DROP ROLE / DROP USER: every name is checked before any
// role is dropped.
func (r *Roles) dropRole(ctx context.Context, st *sql.DropRole, user string) (string, []*pgerr.Error, error) {
	var notices []*pgerr.Error
	var drop []string
	for _, name := range st.Names {
		if err := r.notInSQL(name); err != nil {
			return "", nil, err
		}
		if name == user {
			return "", nil, pgerr.New(pgerrcode.ObjectInUse, "current user cannot be dropped")
		}
		_, ok, err := r.cat.Role(ctx, name)
		switch {
		case err != nil:
			return "", nil, err
		case ok:
			drop = append(drop, name)
		case st.IfExists:
			n := pgerr.New(pgerrcode.SuccessfulCompletion, "role \"%s\" does not exist, skipping", name)
			n.Severity = "NOTICE"
			notices = append(notices, n)
		default:
			return "", nil, pgerr.New(pgerrcode.UndefinedObject, "role \"%s\" does not exist", name)
		}
	}
	for _, name := range drop {
		if _, err := r.cat.DropRole(ctx, name); err != nil {
			return "", nil, err
		}
	}
	return "DROP ROLE", notices, nil
}
