package sql

import (
	"strings"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// GRANT and REVOKE of privileges and of role membership, ALTER DEFAULT
// PRIVILEGES, ALTER ... OWNER TO and REASSIGN OWNED, with PostgreSQL's
// grammar (GrantStmt, GrantRoleStmt, AlterDefaultPrivilegesStmt,
// AlterOwnerStmt, ReassignOwnedStmt) and Sluice's object kinds (SOURCE,
// MATERIALIZED VIEW, PIPELINE, SECRET) and privilege (REFRESH).

// RoleSpec names a role in a GRANT: a name, PUBLIC, or the session's own
// (CURRENT_USER, SESSION_USER, CURRENT_ROLE).
type RoleSpec struct {
	Name    string
	Public  bool
	Current bool
}

func (r RoleSpec) String() string {
	switch {
	case r.Public:
		return "PUBLIC"
	case r.Current:
		return "CURRENT_USER"
	}
	return r.Name
}

// Grant is GRANT privileges ON objects TO roles [WITH GRANT OPTION], or
// REVOKE [GRANT OPTION FOR] privileges ON objects FROM roles [CASCADE].
type Grant struct {
	Span
	Revoke      bool
	GrantOption bool // WITH GRANT OPTION; REVOKE GRANT OPTION FOR
	// Privileges are the privileges' keywords, upper case (TEMP is
	// TEMPORARY); nil is ALL [PRIVILEGES].
	Privileges []string
	// Columns is set when a privilege names columns (SELECT (a, b)).
	Columns bool
	// Kind is the objects' kind as written: TABLE (also when omitted),
	// VIEW, MATERIALIZED VIEW, SOURCE, PIPELINE, SEQUENCE, SCHEMA,
	// DATABASE, SECRET, FUNCTION.
	Kind    string
	Objects []Name
	// AllIn are the schemas of ALL <AllKind> IN SCHEMA s, ...; AllKind is
	// TABLES, VIEWS, MATERIALIZED VIEWS, SOURCES, PIPELINES or SEQUENCES.
	AllIn    []string
	AllKind  string
	Grantees []RoleSpec
	Cascade  bool
	// GrantedBy is GRANTED BY's role ("" when absent).
	GrantedBy *RoleSpec
}

// GrantRole is GRANT role [, ...] TO role [, ...] [WITH ADMIN OPTION], or
// REVOKE [ADMIN OPTION FOR] role [, ...] FROM role [, ...] [CASCADE].
type GrantRole struct {
	Span
	Revoke      bool
	AdminOption bool
	Roles       []string
	Members     []RoleSpec
	Cascade     bool
	GrantedBy   *RoleSpec
}

// AlterDefaultPrivileges is ALTER DEFAULT PRIVILEGES [FOR ROLE r, ...]
// [IN SCHEMA s, ...] {GRANT | REVOKE} ... ON {TABLES | SEQUENCES |
// SCHEMAS | ...}: Action's Kind is the kinds' word (TABLES, ...).
type AlterDefaultPrivileges struct {
	Span
	Roles   []string
	Schemas []string
	Action  *Grant
}

// AlterOwner is ALTER kind name OWNER TO role.
type AlterOwner struct {
	Span
	Kind  string // TABLE, VIEW, MATERIALIZED VIEW, SOURCE, PIPELINE, SEQUENCE, SCHEMA, SECRET
	Name  Name
	Owner RoleSpec
}

// ReassignOwned is REASSIGN OWNED BY role [, ...] TO role.
type ReassignOwned struct {
	Span
	From []RoleSpec
	To   RoleSpec
}

// atGrantStatement reports whether the statement is one of this file's.
func (p *parser) atGrantStatement() bool {
	return p.atWords("grant") || p.atWords("revoke") || p.atWords("alter", "default", "privileges") ||
		p.atWords("reassign", "owned") || p.atWords("drop", "owned") || p.atAlterOwner()
}

// grantStatement parses the statement atGrantStatement found.
func (p *parser) grantStatement() (Statement, error) {
	switch {
	case p.atWords("alter", "default", "privileges"):
		return p.alterDefaultPrivileges()
	case p.atWords("reassign", "owned"):
		return p.reassignOwned()
	case p.atWords("drop", "owned"):
		e := pgerr.Unsupported("DROP OWNED is not supported")
		e.Hint = "Move the role's objects with REASSIGN OWNED BY role TO other_role, revoke its privileges with REVOKE, then DROP ROLE."
		return nil, e
	case p.atWords("alter"):
		return p.alterOwner()
	}
	revoke := p.atWords("revoke")
	p.skip(1)
	if p.hasWord("on") {
		g, err := p.grantPrivileges(revoke, false)
		if err != nil {
			return nil, err
		}
		return g, p.expectEnd()
	}
	return p.grantRole(revoke)
}

// grantPrivileges parses privileges ON objects {TO | FROM} roles ...,
// after GRANT or REVOKE; forDefaults reads ALTER DEFAULT PRIVILEGES' kinds
// (TABLES, ...) instead of objects.
func (p *parser) grantPrivileges(revoke, forDefaults bool) (*Grant, error) {
	g := &Grant{Span: p.span(), Revoke: revoke}
	if revoke && p.acceptWords("grant", "option", "for") {
		g.GrantOption = true
	}
	if p.acceptWords("all") {
		p.acceptWords("privileges")
		if isOp(p.peek(), "(") {
			g.Columns = true
			p.skipParens()
		}
	} else {
		for {
			t := p.peek()
			if t.kind != tokIdent {
				return nil, p.syntaxError(t)
			}
			p.skip(1)
			name := upperASCII(t.val)
			if name == "TEMP" {
				name = "TEMPORARY"
			}
			g.Privileges = append(g.Privileges, name)
			if isOp(p.peek(), "(") {
				g.Columns = true
				p.skipParens()
			}
			if !p.acceptOp(",") {
				break
			}
		}
	}
	if err := p.expectWords("on"); err != nil {
		return nil, err
	}
	if forDefaults {
		kind, err := p.defaultsKind()
		if err != nil {
			return nil, err
		}
		g.Kind = kind
	} else if err := p.grantObjects(g); err != nil {
		return nil, err
	}
	if revoke {
		if err := p.expectWords("from"); err != nil {
			return nil, err
		}
	} else if err := p.expectWords("to"); err != nil {
		return nil, err
	}
	var err error
	if g.Grantees, err = p.roleSpecs(); err != nil {
		return nil, err
	}
	if !revoke && p.acceptWords("with", "grant", "option") {
		g.GrantOption = true
	}
	if p.acceptWords("granted", "by") {
		r, err := p.roleSpec()
		if err != nil {
			return nil, err
		}
		g.GrantedBy = &r
	}
	if revoke {
		if p.acceptWords("cascade") {
			g.Cascade = true
		} else {
			p.acceptWords("restrict")
		}
	}
	return g, nil
}

// grantKinds are the object kinds GRANT names, longest first.
var grantKinds = [][]string{
	{"materialized", "view"}, {"foreign", "table"}, {"table"}, {"view"}, {"source"}, {"pipeline"}, {"sequence"},
	{"schema"}, {"database"}, {"secret"}, {"function"}, {"procedure"}, {"routine"}, {"type"}, {"domain"},
	{"language"}, {"large", "object"}, {"tablespace"}, {"foreign", "data", "wrapper"}, {"foreign", "server"},
}

// allKinds are the kinds of ALL ... IN SCHEMA.
var allKinds = [][]string{{"materialized", "views"}, {"tables"}, {"views"}, {"sources"}, {"pipelines"}, {"sequences"},
	{"functions"}, {"procedures"}, {"routines"}}

// grantObjects parses [kind] name [, ...] | ALL kinds IN SCHEMA s [, ...].
func (p *parser) grantObjects(g *Grant) error {
	if p.acceptWords("all") {
		for _, k := range allKinds {
			if p.acceptWords(k...) {
				g.AllKind = upperASCII(strings.Join(k, " "))
				break
			}
		}
		if g.AllKind == "" {
			return p.syntaxError(p.peek())
		}
		if err := p.expectWords("in", "schema"); err != nil {
			return err
		}
		for {
			s, err := p.colID()
			if err != nil {
				return err
			}
			g.AllIn = append(g.AllIn, s)
			if !p.acceptOp(",") {
				return nil
			}
		}
	}
	g.Kind = "TABLE"
	for _, k := range grantKinds {
		// A kind word is a kind only when a name follows it (GRANT ... ON
		// source TO bob grants on a table named source).
		if p.atWords(k...) && !isWord(p.peekAt(len(k)), "to") && !isWord(p.peekAt(len(k)), "from") && !isOp(p.peekAt(len(k)), ",") {
			p.skip(len(k))
			g.Kind = upperASCII(strings.Join(k, " "))
			break
		}
	}
	if g.Kind == "LARGE OBJECT" { // named by OIDs, not names
		return pgerr.Unsupported("privileges on large object objects are not supported")
	}
	for {
		var n Name
		var err error
		if g.Kind == "SCHEMA" || g.Kind == "DATABASE" {
			n.Name, err = p.colID()
		} else {
			n, err = p.name()
		}
		if err != nil {
			return err
		}
		if isOp(p.peek(), "(") { // FUNCTION f(args)
			p.skipParens()
		}
		g.Objects = append(g.Objects, n)
		if !p.acceptOp(",") {
			return nil
		}
	}
}

// defaultsKind parses the kinds word of ALTER DEFAULT PRIVILEGES.
func (p *parser) defaultsKind() (string, error) {
	for _, k := range append(allKinds, []string{"schemas"}, []string{"types"}) {
		if p.acceptWords(k...) {
			return upperASCII(strings.Join(k, " ")), nil
		}
	}
	return "", p.syntaxError(p.peek())
}

// grantRole parses GRANT role, ... TO role, ... [WITH ADMIN OPTION] or
// REVOKE [ADMIN OPTION FOR] role, ... FROM role, ... [CASCADE].
func (p *parser) grantRole(revoke bool) (Statement, error) {
	g := &GrantRole{Span: p.span(), Revoke: revoke}
	if revoke && p.acceptWords("admin", "option", "for") {
		g.AdminOption = true
	}
	for {
		r, err := p.roleName()
		if err != nil {
			return nil, err
		}
		g.Roles = append(g.Roles, r)
		if !p.acceptOp(",") {
			break
		}
	}
	if revoke {
		if err := p.expectWords("from"); err != nil {
			return nil, err
		}
	} else if err := p.expectWords("to"); err != nil {
		return nil, err
	}
	var err error
	if g.Members, err = p.roleSpecs(); err != nil {
		return nil, err
	}
	if !revoke && p.acceptWords("with", "admin", "option") {
		g.AdminOption = true
	}
	if p.acceptWords("granted", "by") {
		r, err := p.roleSpec()
		if err != nil {
			return nil, err
		}
		g.GrantedBy = &r
	}
	if revoke {
		if p.acceptWords("cascade") {
			g.Cascade = true
		} else {
			p.acceptWords("restrict")
		}
	}
	return g, p.expectEnd()
}

// roleSpecs parses role_spec [, ...].
func (p *parser) roleSpecs() ([]RoleSpec, error) {
	var out []RoleSpec
	for {
		r, err := p.roleSpec()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		if !p.acceptOp(",") {
			return out, nil
		}
	}
}

// roleSpec parses a role name, PUBLIC, CURRENT_USER, SESSION_USER or
// CURRENT_ROLE (the optional GROUP keyword before it is PostgreSQL's
// legacy spelling).
func (p *parser) roleSpec() (RoleSpec, error) {
	p.acceptWords("group")
	t := p.peek()
	if t.kind == tokIdent {
		switch t.val {
		case "public":
			p.skip(1)
			return RoleSpec{Public: true}, nil
		case "current_user", "session_user", "current_role":
			p.skip(1)
			return RoleSpec{Current: true}, nil
		}
	}
	n, err := p.roleName()
	return RoleSpec{Name: n}, err
}

// ALTER DEFAULT PRIVILEGES [FOR {ROLE | USER} r, ...] [IN SCHEMA s, ...]
// {GRANT | REVOKE} ...
func (p *parser) alterDefaultPrivileges() (Statement, error) {
	p.skip(3)
	st := &AlterDefaultPrivileges{Span: p.span()}
	for {
		switch {
		case p.acceptWords("for", "role"), p.acceptWords("for", "user"):
			for {
				r, err := p.roleName()
				if err != nil {
					return nil, err
				}
				st.Roles = append(st.Roles, r)
				if !p.acceptOp(",") {
					break
				}
			}
			continue
		case p.acceptWords("in", "schema"):
			for {
				s, err := p.colID()
				if err != nil {
					return nil, err
				}
				st.Schemas = append(st.Schemas, s)
				if !p.acceptOp(",") {
					break
				}
			}
			continue
		}
		break
	}
	revoke := p.atWords("revoke")
	if !revoke && !p.atWords("grant") {
		return nil, p.syntaxError(p.peek())
	}
	p.skip(1)
	g, err := p.grantPrivileges(revoke, true)
	if err != nil {
		return nil, err
	}
	st.Action = g
	return st, p.expectEnd()
}

// ownerKinds are the kinds ALTER ... OWNER TO changes here (other ALTERs
// of these kinds are DuckDB's or the dialect's).
var ownerKinds = [][]string{{"materialized", "view"}, {"table"}, {"view"}, {"source"}, {"pipeline"}, {"sequence"},
	{"schema"}, {"secret"}}

// atAlterOwner reports ALTER kind name OWNER TO role.
func (p *parser) atAlterOwner() bool {
	if !p.atWords("alter") {
		return false
	}
	n := len(p.toks)
	return n >= 5 && isWord(p.toks[n-3], "owner") && isWord(p.toks[n-2], "to")
}

func (p *parser) alterOwner() (Statement, error) {
	p.skip(1)
	st := &AlterOwner{Span: p.span()}
	for _, k := range ownerKinds {
		if p.acceptWords(k...) {
			st.Kind = upperASCII(strings.Join(k, " "))
			break
		}
	}
	if st.Kind == "" {
		return nil, p.syntaxError(p.peek())
	}
	var err error
	if st.Kind == "SCHEMA" {
		st.Name.Name, err = p.colID()
	} else {
		st.Name, err = p.name()
	}
	if err != nil {
		return nil, err
	}
	if err := p.expectWords("owner", "to"); err != nil {
		return nil, err
	}
	if st.Owner, err = p.roleSpec(); err != nil {
		return nil, err
	}
	return st, p.expectEnd()
}

// REASSIGN OWNED BY role [, ...] TO role
func (p *parser) reassignOwned() (Statement, error) {
	p.skip(2)
	st := &ReassignOwned{Span: p.span()}
	if err := p.expectWords("by"); err != nil {
		return nil, err
	}
	var err error
	if st.From, err = p.roleSpecs(); err != nil {
		return nil, err
	}
	if err := p.expectWords("to"); err != nil {
		return nil, err
	}
	if st.To, err = p.roleSpec(); err != nil {
		return nil, err
	}
	return st, p.expectEnd()
}
