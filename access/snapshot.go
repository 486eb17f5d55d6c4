package access

import (
	"slices"
	"sort"
	"strings"

	"github.com/sluice-db/sluice/catalog"
)

// Role is a role as privileges see it: SQL roles (CREATE ROLE), the users
// of the configuration file, the built-in role and the predefined roles.
type Role struct {
	Name       string
	OID        int64
	Login      bool
	Superuser  bool
	CreateRole bool
	Inherit    bool
	// Origin tells where the role is defined.
	Origin Origin
	// Verifier is a SQL role's SCRAM-SHA-256 verifier, "" for none.
	Verifier string
}

// Origin is where a role is defined.
type Origin int

const (
	OriginSQL        Origin = iota // CREATE ROLE, in the catalog
	OriginConfig                   // the users of the configuration file
	OriginBuiltin                  // the built-in superuser "sluice"
	OriginPredefined               // pg_read_server_files, ...
)

// Builtin is the built-in superuser: trust's user, and the owner of every
// object that has no recorded owner (objects created before privileges).
const Builtin = "sluice"

// The predefined roles, as PostgreSQL's (with its OIDs) plus Sluice's own.
// A superuser grants them (GRANT pg_read_server_files TO etl).
const (
	ReadServerFiles  = "pg_read_server_files"   // read files on the server: file functions, COPY FROM a file, FILES sources
	WriteServerFiles = "pg_write_server_files"  // write files on the server: COPY TO a file
	ReadAllData      = "pg_read_all_data"       // SELECT on every relation, USAGE on every schema
	Monitor          = "pg_monitor"             // read every row of Sluice's system tables (runs, quality, ...)
	ExternalAccess   = "sluice_external_access" // create sources that reach other servers (KAFKA, POSTGRES, HTTP)
)

var predefined = []Role{
	{Name: ReadServerFiles, OID: 4569, Inherit: true, Origin: OriginPredefined},
	{Name: WriteServerFiles, OID: 4570, Inherit: true, Origin: OriginPredefined},
	{Name: ReadAllData, OID: 6181, Inherit: true, Origin: OriginPredefined},
	{Name: Monitor, OID: 3373, Inherit: true, Origin: OriginPredefined},
	{Name: ExternalAccess, OID: 16001, Inherit: true, Origin: OriginPredefined},
}

// ConfigUser is a user of the gateway's configuration file.
type ConfigUser struct {
	Name      string
	Superuser bool
}

// Snapshot is who owns what and who may do what at one catalog
// generation, with the database's relations. It is immutable: a change
// builds a new one (Cache).
type Snapshot struct {
	gen      uint64
	roles    map[string]*Role
	members  map[string][]catalog.Membership // by member
	objects  map[catalog.Object]catalog.ObjectACL
	defaults []catalog.DefaultACL
	schemas  map[string]bool
	rels     map[catalog.Ref]catalog.Relation
	lower    map[catalog.Ref]catalog.Ref // lower-case name -> relation (DuckDB's names are case-insensitive)
	macros   map[catalog.Ref]catalog.Macro
	closure  map[string][]string // role -> the roles whose privileges it has (itself, PUBLIC "" included)
}

// Build makes a snapshot from the catalog's rows and the configuration's
// users.
func Build(gen uint64, rows catalog.AccessRows, users []ConfigUser, schemas []string, rels []catalog.Relation, macros []catalog.Macro) *Snapshot {
	s := &Snapshot{
		gen: gen, roles: map[string]*Role{}, members: map[string][]catalog.Membership{},
		objects: map[catalog.Object]catalog.ObjectACL{}, defaults: rows.Defaults,
		schemas: map[string]bool{}, rels: map[catalog.Ref]catalog.Relation{}, lower: map[catalog.Ref]catalog.Ref{},
		macros:  map[catalog.Ref]catalog.Macro{},
		closure: map[string][]string{},
	}
	s.roles[Builtin] = &Role{Name: Builtin, OID: 10, Login: true, Superuser: true, CreateRole: true, Inherit: true, Origin: OriginBuiltin}
	for i := range predefined {
		r := predefined[i]
		s.roles[r.Name] = &r
	}
	names := make([]string, len(users))
	byName := map[string]ConfigUser{}
	for i, u := range users {
		names[i] = u.Name
		byName[u.Name] = u
	}
	sort.Strings(names)
	for i, n := range names {
		u := byName[n]
		s.roles[n] = &Role{Name: n, OID: 15000 + int64(i), Login: true, Superuser: u.Superuser, CreateRole: u.Superuser, Inherit: true, Origin: OriginConfig}
	}
	for _, r := range rows.Roles {
		if _, taken := s.roles[r.Name]; taken {
			continue // a configuration user of that name comes first
		}
		s.roles[r.Name] = &Role{Name: r.Name, OID: r.OID, Login: r.Login, Superuser: r.Superuser, CreateRole: r.CreateRole,
			Inherit: r.Inherit, Origin: OriginSQL, Verifier: r.Verifier}
	}
	for _, m := range rows.Members {
		s.members[m.Member] = append(s.members[m.Member], m)
	}
	for _, o := range rows.Objects {
		s.objects[o.Object] = o
	}
	for _, sc := range schemas {
		s.schemas[sc] = true
	}
	for _, r := range rels {
		s.rels[r.Ref] = r
		s.lower[catalog.Ref{Schema: strings.ToLower(r.Ref.Schema), Name: strings.ToLower(r.Ref.Name)}] = r.Ref
	}
	for _, m := range macros {
		s.macros[catalog.Ref{Schema: m.Schema, Name: m.Name}] = m
	}
	for name := range s.roles {
		s.closure[name] = s.inherited(name)
	}
	return s
}

// Generation is the catalog generation the snapshot was built at.
func (s *Snapshot) Generation() uint64 { return s.gen }

// Role returns a role by name.
func (s *Snapshot) Role(name string) (*Role, bool) {
	r, ok := s.roles[name]
	return r, ok
}

// Roles returns every role, by OID.
func (s *Snapshot) Roles() []*Role {
	out := make([]*Role, 0, len(s.roles))
	for _, r := range s.roles {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OID < out[j].OID })
	return out
}

// Memberships returns every membership.
func (s *Snapshot) Memberships() []catalog.Membership {
	var out []catalog.Membership
	for _, ms := range s.members {
		out = append(out, ms...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Role != out[j].Role {
			return out[i].Role < out[j].Role
		}
		return out[i].Member < out[j].Member
	})
	return out
}

// Superuser reports whether role is a superuser.
func (s *Snapshot) Superuser(role string) bool {
	r, ok := s.roles[role]
	return ok && r.Superuser
}

// inherited is the roles whose privileges role has: itself, PUBLIC, and
// the roles it is a member of, directly or not, through roles that
// inherit (PostgreSQL's INHERIT attribute).
func (s *Snapshot) inherited(role string) []string {
	out := []string{role, ""}
	seen := map[string]bool{role: true, "": true}
	var walk func(r string)
	walk = func(r string) {
		if rr, ok := s.roles[r]; ok && !rr.Inherit {
			return
		}
		for _, m := range s.members[r] {
			if !seen[m.Role] {
				seen[m.Role] = true
				out = append(out, m.Role)
				walk(m.Role)
			}
		}
	}
	walk(role)
	return out
}

// HasPrivsOf reports whether role has the privileges of group: it is
// group, a superuser, or a member of it through inheriting roles
// (PostgreSQL's has_privs_of_role).
func (s *Snapshot) HasPrivsOf(role, group string) bool {
	if role == group || s.Superuser(role) {
		return true
	}
	return slices.Contains(s.closure[role], group)
}

// IsMember reports whether member is a member of role, directly or not,
// whatever the inheritance (PostgreSQL's is_member_of_role).
func (s *Snapshot) IsMember(member, role string) bool {
	seen := map[string]bool{}
	var walk func(r string) bool
	walk = func(r string) bool {
		if r == role {
			return true
		}
		if seen[r] {
			return false
		}
		seen[r] = true
		for _, m := range s.members[r] {
			if walk(m.Role) {
				return true
			}
		}
		return false
	}
	return walk(member)
}

// predefinedRole reports whether name is one of the predefined roles.
func (s *Snapshot) predefinedRole(name string) bool {
	r, ok := s.roles[name]
	return ok && r.Origin == OriginPredefined
}

// HasAdmin reports whether role may grant membership in group: a
// superuser, a CREATEROLE role for a role that is not a superuser, or a
// member with the admin option.
func (s *Snapshot) HasAdmin(role, group string) bool {
	if s.Superuser(role) {
		return true
	}
	// CREATEROLE administers the roles it could create: not superusers,
	// and not the predefined roles, which reach the server's files and
	// network (PostgreSQL 16's rule; 15 let CREATEROLE grant those too).
	if r, ok := s.roles[role]; ok && r.CreateRole && !s.Superuser(group) && !s.predefinedRole(group) {
		return true
	}
	for _, m := range s.members[role] {
		if m.Role == group && m.AdminOption {
			return true
		}
	}
	return false
}

// Relation returns a relation of the database.
func (s *Snapshot) Relation(ref catalog.Ref) (catalog.Relation, bool) {
	r, ok := s.rels[ref]
	return r, ok
}

// Relations returns every relation of the database.
func (s *Snapshot) Relations() []catalog.Relation {
	out := make([]catalog.Relation, 0, len(s.rels))
	for _, r := range s.rels {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Ref.Schema != out[j].Ref.Schema {
			return out[i].Ref.Schema < out[j].Ref.Schema
		}
		return out[i].Ref.Name < out[j].Ref.Name
	})
	return out
}

// SchemaExists reports whether a schema of the database exists.
func (s *Snapshot) SchemaExists(name string) bool { return s.schemas[name] }

// Macro returns a user's macro.
func (s *Snapshot) Macro(ref catalog.Ref) (catalog.Macro, bool) {
	m, ok := s.macros[ref]
	return m, ok
}

// Owner returns an object's owner: the built-in role when none is
// recorded.
func (s *Snapshot) Owner(obj catalog.Object) string {
	if o, ok := s.objects[obj]; ok {
		return o.Owner
	}
	return Builtin
}

// applicable is what ALL means for obj.
func (s *Snapshot) applicable(obj catalog.Object) Priv {
	var kind catalog.Kind
	if obj.Kind == catalog.ObjectRelation {
		kind = s.rels[catalog.Ref{Schema: obj.Schema, Name: obj.Name}].Kind
	}
	return Applicable(obj.Kind, kind)
}

// ACL returns an object's ACL, the kind's default when none is recorded,
// and whether one is recorded.
func (s *Snapshot) ACL(obj catalog.Object) (ACL, bool) {
	if o, ok := s.objects[obj]; ok && o.ACL != nil {
		return ParseACL(o.ACL), true
	}
	owner := s.Owner(obj)
	acl := defaultACL(owner, s.applicable(obj))
	switch {
	case obj.Kind == catalog.ObjectDatabase:
		acl = append(acl, catalog.ACLItem{Grantee: "", Grantor: owner, Privileges: (Connect | Temporary).Letters()})
	case obj.Kind == catalog.ObjectSchema && systemSchemas[obj.Name]:
		acl = append(acl, catalog.ACLItem{Grantee: "", Grantor: owner, Privileges: Usage.Letters()})
	}
	return acl, false
}

// systemSchemas are the schemas every role may use: public (as in
// PostgreSQL 15, where only its owner may create in it) and the catalogs.
var systemSchemas = map[string]bool{"public": true, "sluice": true, "pg_catalog": true, "information_schema": true, "pg_sluice": true}

// Privileges returns the privileges role holds on obj: every applicable
// one for a superuser and for the owner (or a role with the owner's
// privileges), else what the ACL grants to the roles whose privileges it
// has, plus SELECT and USAGE for pg_read_all_data's members.
func (s *Snapshot) Privileges(role string, obj catalog.Object) Priv {
	all := s.applicable(obj)
	if s.Superuser(role) {
		return all
	}
	groups := s.closure[role]
	if groups == nil {
		groups = []string{""} // an unknown role has PUBLIC's privileges
	}
	if slices.Contains(groups, s.Owner(obj)) {
		return all
	}
	acl, _ := s.ACL(obj)
	var p Priv
	for _, it := range acl {
		if slices.Contains(groups, it.Grantee) {
			p |= ParseLetters(it.Privileges)
		}
	}
	if slices.Contains(groups, ReadAllData) {
		p |= (Select | Usage) & all
	}
	return p & all
}

// GrantOptions returns the privileges role may grant on obj.
func (s *Snapshot) GrantOptions(role string, obj catalog.Object) Priv {
	all := s.applicable(obj)
	if s.Superuser(role) || slices.Contains(s.closure[role], s.Owner(obj)) {
		return all
	}
	acl, _ := s.ACL(obj)
	var p Priv
	for _, it := range acl {
		if slices.Contains(s.closure[role], it.Grantee) {
			p |= ParseLetters(it.Grantable)
		}
	}
	return p & all
}

// Has reports whether role holds every privilege of p on obj.
func (s *Snapshot) Has(role string, obj catalog.Object, p Priv) bool {
	return s.Privileges(role, obj)&p == p
}

// Owns reports whether role may act as obj's owner (ALTER, DROP, GRANT):
// a superuser, the owner, or a role with the owner's privileges.
func (s *Snapshot) Owns(role string, obj catalog.Object) bool {
	return s.Superuser(role) || slices.Contains(s.closure[role], s.Owner(obj))
}

// SeesAllRows reports whether role sees every row of the system tables.
func (s *Snapshot) SeesAllRows(role string) bool {
	return s.Superuser(role) || s.HasPrivsOf(role, Monitor) || s.HasPrivsOf(role, ReadAllData)
}

// Visible returns the relations role holds any privilege on, with them:
// what pg_catalog lists to it and the rows of the system tables it sees.
func (s *Snapshot) Visible(role string) map[catalog.Ref]Priv {
	out := map[catalog.Ref]Priv{}
	for ref := range s.rels {
		if p := s.Privileges(role, catalog.RelationObject(ref)); p != 0 {
			out[ref] = p
		}
	}
	return out
}

// DefaultACLFor returns the ACL a new object of kind that role creates in
// schema gets: the owner's privileges plus what ALTER DEFAULT PRIVILEGES
// of role grants, for that schema and for all schemas; nil when there are
// none (the kind's default).
func (s *Snapshot) DefaultACLFor(role string, kind catalog.ObjectKind, schema string, all Priv) []string {
	var extra ACL
	for _, d := range s.defaults {
		if d.Role == role && d.Kind == kind && (d.Schema == "" || d.Schema == schema) {
			extra = append(extra, ParseACL(d.ACL)...)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	acl := defaultACL(role, all)
	for _, it := range extra {
		if it.Grantee == role {
			continue // the owner holds everything already
		}
		acl = acl.Grant(it.Grantee, role, ParseLetters(it.Privileges)&all, false)
		if it.Grantable != "" {
			acl = acl.Grant(it.Grantee, role, ParseLetters(it.Grantable)&all, true)
		}
	}
	return acl.Strings()
}

// Defaults returns the default privileges (pg_default_acl).
func (s *Snapshot) Defaults() []catalog.DefaultACL { return s.defaults }

// Objects returns every object with a recorded owner or ACL.
func (s *Snapshot) Objects() []catalog.ObjectACL {
	out := make([]catalog.ObjectACL, 0, len(s.objects))
	for _, o := range s.objects {
		out = append(out, o)
	}
	return out
}

// Dependencies describes what names role: the objects it owns and the
// privileges granted to or by it (what DROP ROLE refuses to leave behind).
func (s *Snapshot) Dependencies(role string) []string {
	var out []string
	for _, o := range s.objects {
		if o.Owner == role {
			out = append(out, "owner of "+o.Object.String())
		}
		for _, it := range ParseACL(o.ACL) {
			if it.Grantee == role {
				out = append(out, "privileges for "+o.Object.String())
				break
			}
		}
	}
	for _, d := range s.defaults {
		if d.Role == role {
			out = append(out, "owner of default privileges of new "+string(d.Kind)+"s")
		}
	}
	sort.Strings(out)
	return out
}
