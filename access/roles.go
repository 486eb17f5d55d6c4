// Package access decides who may do what in Sluice: roles and their
// attributes, memberships, object owners and privileges (PostgreSQL's
// model), the file sandbox, and the checks of statements against them. It
// runs the statements that change them: CREATE, ALTER and DROP ROLE,
// GRANT, REVOKE, ALTER DEFAULT PRIVILEGES, ALTER ... OWNER TO, REASSIGN
// OWNED.
package access

// CREATE / ALTER / DROP ROLE and USER. Roles live in the catalog
// (sluice.roles) with their password as a SCRAM-SHA-256 verifier only, and
// log in through wire.PasswordAuth, which finds them with LookupRole. The
// users of the configuration file come first: their names cannot be taken
// by a role, and they cannot be changed in SQL.
//
// Like Sluice's other statements, these take effect when issued, also in a
// transaction block, and ROLLBACK does not undo them. As in PostgreSQL 15,
// superusers create, change and drop any role; CREATEROLE roles those that
// are not superusers; every role changes its own password.

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

// Actor is who runs a statement: the session's role, the privilege checks
// over the current snapshot, and how the session's names resolve.
type Actor struct {
	Role  string
	Check *Checker
	Scope Scope
}

// Statements runs the statements that change roles and privileges.
type Statements struct {
	cat *catalog.Store
	// configUser reports whether a name is a user of the gateway's
	// configuration file.
	configUser func(string) bool
}

// NewStatements returns the statements over the catalog; isConfigUser
// tells the configuration file's users (nil: none).
func NewStatements(cat *catalog.Store, isConfigUser func(string) bool) *Statements {
	if isConfigUser == nil {
		isConfigUser = func(string) bool { return false }
	}
	return &Statements{cat: cat, configUser: isConfigUser}
}

// Exec runs a role or privilege statement as a. It returns the command
// tag and the notices to send first.
func (r *Statements) Exec(ctx context.Context, st sql.Statement, a Actor) (string, []*pgerr.Error, error) {
	switch st := st.(type) {
	case *sql.CreateRole:
		return r.createRole(ctx, st, a)
	case *sql.AlterRole:
		return r.alterRole(ctx, st, a)
	case *sql.DropRole:
		return r.dropRole(ctx, st, a)
	case *sql.Grant:
		return r.grant(ctx, st, a) // grant.go
	case *sql.GrantRole:
		return r.grantRole(ctx, st, a)
	case *sql.AlterDefaultPrivileges:
		return r.alterDefaultPrivileges(ctx, st, a)
	case *sql.AlterOwner:
		return r.alterOwner(ctx, st, a)
	case *sql.ReassignOwned:
		return r.reassignOwned(ctx, st, a)
	}
	return "", nil, pgerr.Unsupported("statement %T is not a role or privilege statement", st)
}

// notInSQL refuses to change a role that SQL does not own.
func (r *Statements) notInSQL(name string) error {
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
func (r *Statements) checkNewRoleName(name string) error {
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
	login, superuser, createrole, inherit *bool
	password                              *string  // "" clears it (PASSWORD NULL)
	inRoles, members, admins              []string // IN ROLE, ROLE, ADMIN
}

// roleOptions checks each option against what Sluice honours: LOGIN,
// PASSWORD, SUPERUSER, CREATEROLE, INHERIT (and their NO forms), IN ROLE,
// ROLE and ADMIN. Options that state what Sluice does anyway (nobody
// replicates or bypasses row security, there is one database) are
// accepted. Options that would promise a restriction or a feature Sluice
// does not have are refused with 0A000: accepting them would claim a
// protection that does not exist.
func roleOptions(opts []sql.RoleOption) (roleSettings, []*pgerr.Error, error) {
	var rs roleSettings
	var notices []*pgerr.Error
	flag := func(v bool) *bool { return &v }
	for _, o := range opts {
		var err *pgerr.Error
		switch o.Name {
		case "LOGIN", "NOLOGIN":
			rs.login = flag(o.Name == "LOGIN")
		case "SUPERUSER", "NOSUPERUSER":
			rs.superuser = flag(o.Name == "SUPERUSER")
		case "CREATEROLE", "NOCREATEROLE":
			rs.createrole = flag(o.Name == "CREATEROLE")
		case "INHERIT", "NOINHERIT":
			rs.inherit = flag(o.Name == "INHERIT")
		case "PASSWORD":
			v, notice, perr := verifierFor(o)
			if perr != nil {
				return rs, nil, perr
			}
			if notice != nil {
				notices = append(notices, notice)
			}
			rs.password = &v
		case "IN ROLE", "IN GROUP":
			rs.inRoles = append(rs.inRoles, splitRoles(o.Value)...)
		case "ROLE", "USER":
			rs.members = append(rs.members, splitRoles(o.Value)...)
		case "ADMIN":
			rs.admins = append(rs.admins, splitRoles(o.Value)...)
		case "BYPASSRLS", "NOBYPASSRLS", "NOCREATEDB", "NOREPLICATION":
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
		default: // SYSID
			err = pgerr.Unsupported("%s is not supported", o.Name)
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

func splitRoles(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
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

// createRole runs CREATE ROLE / CREATE USER: superusers, and CREATEROLE
// roles for roles that are not superusers.
func (r *Statements) createRole(ctx context.Context, st *sql.CreateRole, a Actor) (string, []*pgerr.Error, error) {
	snap := a.Check.Snapshot()
	if err := r.checkNewRoleName(st.Name); err != nil {
		return "", nil, err
	}
	if _, ok := snap.Role(st.Name); ok {
		return "", nil, pgerr.New(pgerrcode.DuplicateObject, "role \"%s\" already exists", st.Name)
	}
	rs, notices, err := roleOptions(st.Options)
	if err != nil {
		return "", nil, err
	}
	if err := mayCreateRoles(snap, a.Role, rs.superuser != nil && *rs.superuser); err != nil {
		return "", nil, err
	}
	role := catalog.Role{Name: st.Name, Login: st.User, Inherit: true}
	rs.apply(&role)
	for _, g := range append(append(rs.inRoles, rs.members...), rs.admins...) {
		if _, ok := snap.Role(g); !ok {
			return "", nil, pgerr.New(pgerrcode.UndefinedObject, "role \"%s\" does not exist", g)
		}
	}
	for _, g := range rs.inRoles {
		if !snap.HasAdmin(a.Role, g) {
			return "", nil, pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to grant role %q", g)
		}
	}
	if err := r.cat.CreateRole(ctx, role); err != nil {
		return "", nil, err
	}
	// IN ROLE: the new role joins them; ROLE and ADMIN: they join it.
	for _, g := range rs.inRoles {
		if err := r.cat.AddMember(ctx, catalog.Membership{Role: g, Member: st.Name, Grantor: a.Role}); err != nil {
			return "", nil, err
		}
	}
	for _, m := range rs.members {
		if err := r.cat.AddMember(ctx, catalog.Membership{Role: st.Name, Member: m, Grantor: a.Role}); err != nil {
			return "", nil, err
		}
	}
	for _, m := range rs.admins {
		if err := r.cat.AddMember(ctx, catalog.Membership{Role: st.Name, Member: m, AdminOption: true, Grantor: a.Role}); err != nil {
			return "", nil, err
		}
	}
	return "CREATE ROLE", notices, nil
}

// apply sets the attributes the options name.
func (rs roleSettings) apply(role *catalog.Role) {
	if rs.login != nil {
		role.Login = *rs.login
	}
	if rs.superuser != nil {
		role.Superuser = *rs.superuser
	}
	if rs.createrole != nil {
		role.CreateRole = *rs.createrole
	}
	if rs.inherit != nil {
		role.Inherit = *rs.inherit
	}
	if rs.password != nil {
		role.Verifier = *rs.password
	}
}

// mayCreateRoles checks that actor may create or change roles (of a
// superuser: only superusers).
func mayCreateRoles(snap *Snapshot, actor string, superuser bool) error {
	if snap.Superuser(actor) {
		return nil
	}
	if superuser {
		return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to create or change a superuser role").
			WithDetail("Only superusers may create or change roles with SUPERUSER.")
	}
	if r, ok := snap.Role(actor); ok && r.CreateRole {
		return nil
	}
	return pgerr.New(pgerrcode.InsufficientPrivilege, "permission denied to create role").
		WithDetail("Only superusers and roles with CREATEROLE may create, change and drop roles.")
}

// alterRole runs ALTER ROLE / ALTER USER: a role changes its own password;
// other changes are for superusers, and for CREATEROLE roles on roles that
// are not superusers (and without granting SUPERUSER).
func (r *Statements) alterRole(ctx context.Context, st *sql.AlterRole, a Actor) (string, []*pgerr.Error, error) {
	snap := a.Check.Snapshot()
	if st.SetConfig {
		return "", nil, pgerr.Unsupported("ALTER ROLE ... SET is not supported: Sluice has no per-role settings")
	}
	name := st.Name
	if st.Current {
		name = a.Role
	}
	if err := r.notInSQL(name); err != nil {
		return "", nil, err
	}
	if st.RenameTo != "" {
		if name == a.Role {
			return "", nil, pgerr.New(pgerrcode.FeatureNotSupported, "session user cannot be renamed")
		}
		if err := r.checkNewRoleName(st.RenameTo); err != nil {
			return "", nil, err
		}
		if _, ok := snap.Role(st.RenameTo); ok {
			return "", nil, pgerr.New(pgerrcode.DuplicateObject, "role \"%s\" already exists", st.RenameTo)
		}
	}
	rs, notices, err := roleOptions(st.Options)
	if err != nil {
		return "", nil, err
	}
	if len(rs.inRoles)+len(rs.members)+len(rs.admins) > 0 {
		return "", nil, pgerr.New(pgerrcode.SyntaxError, "ALTER ROLE does not take IN ROLE, ROLE or ADMIN: use GRANT role TO role")
	}
	onlyPassword := st.RenameTo == "" && rs.login == nil && rs.superuser == nil && rs.createrole == nil && rs.inherit == nil
	if !(onlyPassword && name == a.Role) {
		target, _ := snap.Role(name)
		if err := mayCreateRoles(snap, a.Role, target != nil && target.Superuser || rs.superuser != nil && *rs.superuser); err != nil {
			return "", nil, err
		}
	}
	err = r.cat.AlterRole(ctx, name, func(role *catalog.Role) error {
		rs.apply(role)
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
// role is dropped; a role that owns objects or holds privileges is 2BP01
// (REASSIGN OWNED and REVOKE first), as in PostgreSQL.
func (r *Statements) dropRole(ctx context.Context, st *sql.DropRole, a Actor) (string, []*pgerr.Error, error) {
	snap := a.Check.Snapshot()
	var notices []*pgerr.Error
	var drop []string
	for _, name := range st.Names {
		if err := r.notInSQL(name); err != nil {
			return "", nil, err
		}
		if name == a.Role {
			return "", nil, pgerr.New(pgerrcode.ObjectInUse, "current user cannot be dropped")
		}
		role, ok := snap.Role(name)
		switch {
		case ok && role.Origin == OriginPredefined:
			return "", nil, pgerr.Unsupported("role \"%s\" is predefined and cannot be dropped", name)
		case ok:
			if err := mayCreateRoles(snap, a.Role, role.Superuser); err != nil {
				return "", nil, err
			}
			if deps := snap.Dependencies(name); len(deps) > 0 {
				e := pgerr.New(pgerrcode.DependentObjectsStillExist, "role \"%s\" cannot be dropped because some objects depend on it", name)
				e.Detail = strings.Join(deps, "\n")
				e.Hint = "REASSIGN OWNED BY the role to another, and REVOKE its privileges, first."
				return "", nil, e
			}
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
