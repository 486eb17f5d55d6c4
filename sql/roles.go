package sql

import (
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// CREATE ROLE / USER, ALTER ROLE / USER and DROP ROLE / USER, with
// PostgreSQL's grammar (CreateRoleStmt, AlterRoleStmt, DropRoleStmt). The
// parser accepts every option PostgreSQL does; which ones Sluice honours is
// the gateway's decision. A statement holds the password in clear: never
// log its Text, log RedactedText.

// CreateRole is CREATE ROLE name [[WITH] option ...], or CREATE USER (the
// same, with LOGIN by default).
type CreateRole struct {
	Span
	Name    string
	User    bool // CREATE USER
	Options []RoleOption
}

// AlterRole is ALTER ROLE name [[WITH] option ...], ALTER ROLE name RENAME
// TO new, or ALTER ROLE name [IN DATABASE d] {SET | RESET} ... (which
// Sluice refuses: SetConfig). ALTER USER is the same.
type AlterRole struct {
	Span
	Name      string // "" when Current
	Current   bool   // CURRENT_USER, SESSION_USER or CURRENT_ROLE
	Options   []RoleOption
	RenameTo  string // RENAME TO
	SetConfig bool   // ... SET / RESET: per-role settings
}

// DropRole is DROP ROLE [IF EXISTS] name [, ...], or DROP USER.
type DropRole struct {
	Span
	Names    []string
	IfExists bool
}

// RoleOption is one option of CREATE ROLE or ALTER ROLE.
type RoleOption struct {
	// Name is the option in upper case, with its keywords separated by one
	// space: LOGIN, NOLOGIN, PASSWORD, SUPERUSER, NOSUPERUSER, CREATEDB,
	// NOCREATEDB, CREATEROLE, NOCREATEROLE, INHERIT, NOINHERIT, REPLICATION,
	// NOREPLICATION, BYPASSRLS, NOBYPASSRLS, CONNECTION LIMIT, VALID UNTIL,
	// IN ROLE, IN GROUP, ROLE, ADMIN, USER, SYSID.
	Name string
	// Value is the option's argument: the password (ENCRYPTED PASSWORD is
	// PASSWORD), the connection limit, the VALID UNTIL timestamp, the SYSID,
	// or the role list joined by commas.
	Value string
	// Null is PASSWORD NULL.
	Null bool
	Pos  int // 1-based position of the option, for errors

	litStart, litEnd int // the password literal's byte span in the parsed string
}

// roleOptionClass groups the options that may not be given together
// (LOGIN and NOLOGIN, ...): PostgreSQL's "conflicting or redundant
// options".
func roleOptionClass(name string) string {
	switch name {
	case "ENCRYPTED PASSWORD":
		return "PASSWORD"
	case "IN ROLE", "IN GROUP":
		return "IN ROLE"
	}
	return strings.TrimPrefix(name, "NO")
}

// identRoleOptions are the options PostgreSQL's grammar reads as a plain
// identifier (the others are keywords with arguments).
var identRoleOptions = map[string]bool{
	"superuser": true, "nosuperuser": true, "createdb": true, "nocreatedb": true,
	"createrole": true, "nocreaterole": true, "inherit": true, "noinherit": true,
	"login": true, "nologin": true, "replication": true, "noreplication": true,
	"bypassrls": true, "nobypassrls": true,
}

// atRoleStatement reports whether the statement is CREATE / ALTER / DROP of
// a ROLE or USER (not USER MAPPING, which is passed through).
func (p *parser) atRoleStatement() bool {
	if !p.atWords("create") && !p.atWords("alter") && !p.atWords("drop") {
		return false
	}
	switch {
	case isWord(p.peekAt(1), "role"):
		return true
	case isWord(p.peekAt(1), "user"):
		return !isWord(p.peekAt(2), "mapping")
	}
	return false
}

// roleStatement parses the statement atRoleStatement found.
func (p *parser) roleStatement() (Statement, error) {
	verb := p.next().val
	user := p.next().val == "user"
	switch verb {
	case "create":
		return p.createRole(user)
	case "alter":
		return p.alterRole()
	}
	return p.dropRole()
}

// CREATE {ROLE | USER} name [[WITH] option ...]
func (p *parser) createRole(user bool) (Statement, error) {
	st := &CreateRole{Span: p.span(), User: user}
	var err error
	if st.Name, err = p.roleName(); err != nil {
		return nil, err
	}
	p.acceptWords("with")
	if st.Options, err = p.roleOptions(true); err != nil {
		return nil, err
	}
	return st, nil
}

// ALTER {ROLE | USER} role_spec {[[WITH] option ...] | RENAME TO name |
// [IN DATABASE name] {SET | RESET} ...}
func (p *parser) alterRole() (Statement, error) {
	st := &AlterRole{Span: p.span()}
	t := p.peek()
	switch {
	case isWord(t, "current_user"), isWord(t, "session_user"), isWord(t, "current_role"):
		p.skip(1)
		st.Current = true
	case isWord(t, "all"):
		// ALTER ROLE ALL [IN DATABASE d] SET ...
		st.SetConfig = true
		return st, nil
	default:
		name, err := p.roleName()
		if err != nil {
			return nil, err
		}
		st.Name = name
	}
	var err error
	switch {
	case p.acceptWords("rename", "to"):
		if st.Current {
			return nil, p.syntaxError(p.toks[p.i-2])
		}
		if st.RenameTo, err = p.roleName(); err != nil {
			return nil, err
		}
		return st, p.expectEnd()
	case p.atWords("in", "database"), p.atWords("set"), p.atWords("reset"):
		st.SetConfig = true
		return st, nil
	}
	p.acceptWords("with")
	if st.Options, err = p.roleOptions(false); err != nil {
		return nil, err
	}
	return st, nil
}

// DROP {ROLE | USER} [IF EXISTS] name [, ...]
func (p *parser) dropRole() (Statement, error) {
	st := &DropRole{Span: p.span()}
	st.IfExists = p.acceptWords("if", "exists")
	for {
		name, err := p.roleName()
		if err != nil {
			return nil, err
		}
		st.Names = append(st.Names, name)
		if !p.acceptOp(",") {
			break
		}
	}
	return st, p.expectEnd()
}

// roleName parses a role name: an identifier (PostgreSQL's RoleId).
func (p *parser) roleName() (string, error) {
	t := p.peek()
	switch {
	case t.kind == tokQuotedIdent:
		if t.val == "" {
			return "", pgerr.Syntax(charPos(p.src, t.start), "zero-length delimited identifier at or near \"\"\"\"")
		}
	case t.kind == tokIdent && keywordOf(t.val) < typeFuncNameKeyword:
	case t.kind == tokIdent && (t.val == "current_user" || t.val == "session_user" || t.val == "current_role" || t.val == "user"):
		return "", pgerr.New(pgerrcode.ReservedName, "role name \"%s\" is reserved", t.val).WithPosition(charPos(p.src, t.start))
	default:
		return "", p.syntaxError(t)
	}
	p.skip(1)
	return t.val, nil
}

// roleOptions parses the options up to the end of the statement; create
// says whether CREATE ROLE's own options (SYSID, ADMIN, ROLE, IN ROLE) are
// allowed.
func (p *parser) roleOptions(create bool) ([]RoleOption, error) {
	var opts []RoleOption
	seen := map[string]bool{}
	for p.i < len(p.toks) {
		t := p.peek()
		opt := RoleOption{Pos: charPos(p.src, t.start)}
		var err error
		switch {
		case t.kind == tokIdent && identRoleOptions[t.val]:
			p.skip(1)
			opt.Name = upperASCII(t.val)
		case p.atWords("password"), p.atWords("encrypted", "password"):
			if p.acceptWords("encrypted") {
				opt.Name = "ENCRYPTED PASSWORD"
			} else {
				opt.Name = "PASSWORD"
			}
			p.skip(1)
			if p.acceptWords("null") {
				opt.Null = true
				break
			}
			lit := p.peek()
			if opt.Value, err = p.stringLit(); err != nil {
				return nil, err
			}
			opt.litStart, opt.litEnd = lit.start, lit.end
		case p.atWords("unencrypted", "password"):
			e := pgerr.Unsupported("UNENCRYPTED PASSWORD is no longer supported").WithPosition(opt.Pos)
			e.Hint = "Remove UNENCRYPTED to store the password in encrypted form instead."
			return nil, e
		case p.acceptWords("connection", "limit"):
			opt.Name = "CONNECTION LIMIT"
			opt.Value, err = p.signedInt()
		case p.acceptWords("valid", "until"):
			opt.Name = "VALID UNTIL"
			opt.Value, err = p.stringLit()
		case p.acceptWords("user"):
			opt.Name = "USER"
			opt.Value, err = p.roleList()
		case create && p.acceptWords("sysid"):
			opt.Name = "SYSID"
			opt.Value, err = p.signedInt()
		case create && p.acceptWords("admin"):
			opt.Name = "ADMIN"
			opt.Value, err = p.roleList()
		case create && p.acceptWords("role"):
			opt.Name = "ROLE"
			opt.Value, err = p.roleList()
		case create && p.acceptWords("in", "role"):
			opt.Name = "IN ROLE"
			opt.Value, err = p.roleList()
		case create && p.acceptWords("in", "group"):
			opt.Name = "IN GROUP"
			opt.Value, err = p.roleList()
		case t.kind == tokIdent && (t.val == "createuser" || t.val == "nocreateuser"):
			// Obsolete spellings PostgreSQL refuses with a hint.
			e := pgerr.Syntax(opt.Pos, "unrecognized role option \"%s\"", t.val)
			e.Hint = "Use SUPERUSER or NOSUPERUSER instead."
			return nil, e
		case t.kind == tokIdent:
			return nil, pgerr.Syntax(opt.Pos, "unrecognized role option \"%s\"", t.val)
		default:
			return nil, p.syntaxError(t)
		}
		if err != nil {
			return nil, err
		}
		class := roleOptionClass(opt.Name)
		if seen[class] {
			return nil, pgerr.Syntax(opt.Pos, "conflicting or redundant options")
		}
		seen[class] = true
		if opt.Name == "ENCRYPTED PASSWORD" {
			opt.Name = "PASSWORD"
		}
		opts = append(opts, opt)
	}
	return opts, nil
}

// signedInt parses an optionally signed integer literal.
func (p *parser) signedInt() (string, error) {
	sign := ""
	if isOp(p.peek(), "-") || isOp(p.peek(), "+") {
		sign = strings.TrimPrefix(p.next().val, "+")
	}
	t := p.peek()
	if t.kind != tokNumber || strings.ContainsAny(t.val, ".eE") || !isNumber(t.val) {
		return "", p.syntaxError(t)
	}
	p.skip(1)
	return sign + numberText(t.val), nil
}

// roleList parses name [, ...] and returns the names joined by commas.
func (p *parser) roleList() (string, error) {
	var names []string
	for {
		t := p.peek()
		if isWord(t, "current_user") || isWord(t, "session_user") || isWord(t, "current_role") || isWord(t, "public") {
			p.skip(1)
			names = append(names, t.val)
		} else {
			n, err := p.roleName()
			if err != nil {
				return "", err
			}
			names = append(names, n)
		}
		if !p.acceptOp(",") {
			return strings.Join(names, ","), nil
		}
	}
}

// RedactedText is st's text for a log: the password literals of CREATE
// ROLE and ALTER ROLE and the values of CREATE SECRET and ALTER SECRET are
// replaced by '********'; other statements are returned as they are.
func RedactedText(st Statement) string {
	var opts []RoleOption
	switch st := st.(type) {
	case *CreateSecret:
		return redactedSecretText(st, st.litStart, st.litEnd) // secrets.go
	case *AlterSecret:
		return redactedSecretText(st, st.litStart, st.litEnd)
	case *CreateRole:
		opts = st.Options
	case *AlterRole:
		opts = st.Options
	default:
		return st.Text()
	}
	text := st.Text()
	var b strings.Builder
	last := 0
	for _, o := range opts {
		if o.litEnd == 0 {
			continue
		}
		from, to := o.litStart-st.Start(), o.litEnd-st.Start()
		if from < last || to > len(text) {
			continue
		}
		b.WriteString(text[last:from])
		b.WriteString("'********'")
		last = to
	}
	b.WriteString(text[last:])
	return b.String()
}
