package access

import (
	"strings"

	"github.com/sluice-db/sluice/catalog"
)

// Priv is a set of privileges.
type Priv uint16

// The privileges, by PostgreSQL's names and aclitem letters. REFRESH
// (refresh, backfill, run, suspend and resume a materialized view or
// pipeline) uses the letter of PostgreSQL 17's MAINTAIN, which grants
// REFRESH MATERIALIZED VIEW there.
const (
	Select Priv = 1 << iota
	Insert
	Update
	Delete
	Truncate
	Refresh
	Usage
	Create
	Connect
	Temporary
)

var privLetters = []struct {
	p      Priv
	letter byte
	name   string
}{
	{Insert, 'a', "INSERT"}, {Select, 'r', "SELECT"}, {Update, 'w', "UPDATE"}, {Delete, 'd', "DELETE"},
	{Truncate, 'D', "TRUNCATE"}, {Usage, 'U', "USAGE"}, {Create, 'C', "CREATE"}, {Temporary, 'T', "TEMPORARY"},
	{Connect, 'c', "CONNECT"}, {Refresh, 'm', "REFRESH"},
}

// Letters is p in aclitem letters, in PostgreSQL's order.
func (p Priv) Letters() string {
	var b strings.Builder
	for _, l := range privLetters {
		if p&l.p != 0 {
			b.WriteByte(l.letter)
		}
	}
	return b.String()
}

// ParseLetters reads aclitem letters.
func ParseLetters(s string) Priv {
	var p Priv
	for i := 0; i < len(s); i++ {
		for _, l := range privLetters {
			if s[i] == l.letter {
				p |= l.p
			}
		}
	}
	return p
}

// Names is p as SQL keywords ("SELECT, REFRESH").
func (p Priv) Names() string {
	var names []string
	for _, l := range privLetters {
		if p&l.p != 0 {
			names = append(names, l.name)
		}
	}
	return strings.Join(names, ", ")
}

// PrivByName returns the privilege a keyword names (TEMP and TEMPORARY
// alike); ok is false for an unknown word.
func PrivByName(name string) (Priv, bool) {
	name = strings.ToUpper(name)
	if name == "TEMP" {
		name = "TEMPORARY"
	}
	for _, l := range privLetters {
		if l.name == name {
			return l.p, true
		}
	}
	return 0, false
}

// Applicable returns the privileges an object of kind can have (what ALL
// grants). For relations it depends on the relation's kind.
func Applicable(kind catalog.ObjectKind, rel catalog.Kind) Priv {
	switch kind {
	case catalog.ObjectSchema:
		return Usage | Create
	case catalog.ObjectDatabase:
		return Create | Connect | Temporary
	case catalog.ObjectSecret:
		return Usage
	}
	switch rel {
	case catalog.KindTable:
		return Select | Insert | Update | Delete | Truncate
	case catalog.KindMaterializedView, catalog.KindPipeline:
		return Select | Refresh
	case catalog.KindSequence:
		return Usage | Select | Update
	}
	return Select // views and sources
}

// ACL is an object's access control list, parsed.
type ACL []catalog.ACLItem

// ParseACL reads an ACL in aclitem text; items it cannot read are
// skipped (they grant nothing).
func ParseACL(items []string) ACL {
	if items == nil {
		return nil
	}
	acl := make(ACL, 0, len(items))
	for _, s := range items {
		if a, err := catalog.ParseACLItem(s); err == nil {
			acl = append(acl, a)
		}
	}
	return acl
}

// Strings is the ACL in aclitem text; never nil (an empty ACL grants
// nothing, unlike a missing one, which is the kind's default).
func (a ACL) Strings() []string {
	out := make([]string, 0, len(a))
	for _, it := range a {
		if it.Privileges != "" {
			out = append(out, it.String())
		}
	}
	return out
}

// Grant returns the ACL with privs (and, with grantable, the right to
// grant them on) added for grantee, as granted by grantor.
func (a ACL) Grant(grantee, grantor string, privs Priv, grantable bool) ACL {
	out := make(ACL, 0, len(a)+1)
	found := false
	for _, it := range a {
		if it.Grantee == grantee && it.Grantor == grantor {
			p := ParseLetters(it.Privileges) | privs
			g := ParseLetters(it.Grantable)
			if grantable {
				g |= privs
			}
			it.Privileges, it.Grantable = p.Letters(), g.Letters()
			found = true
		}
		out = append(out, it)
	}
	if !found {
		it := catalog.ACLItem{Grantee: grantee, Grantor: grantor, Privileges: privs.Letters()}
		if grantable {
			it.Grantable = privs.Letters()
		}
		out = append(out, it)
	}
	return out
}

// Revoke returns the ACL with privs that grantor granted to grantee
// removed (or, with grantOnly, only the right to grant them on).
func (a ACL) Revoke(grantee, grantor string, privs Priv, grantOnly bool) ACL {
	out := make(ACL, 0, len(a))
	for _, it := range a {
		if it.Grantee == grantee && it.Grantor == grantor {
			p, g := ParseLetters(it.Privileges), ParseLetters(it.Grantable)
			if !grantOnly {
				p &^= privs
			}
			g = (g &^ privs) & p
			it.Privileges, it.Grantable = p.Letters(), g.Letters()
			if it.Privileges == "" {
				continue
			}
		}
		out = append(out, it)
	}
	return out
}

// defaultACL is the ACL an object has before any GRANT or REVOKE: its
// owner holds every applicable privilege (PostgreSQL's acldefault).
// PostgreSQL's PUBLIC privileges on databases (CONNECT, TEMPORARY) are
// added by the caller where they apply.
func defaultACL(owner string, all Priv) ACL {
	return ACL{{Grantee: owner, Grantor: owner, Privileges: all.Letters()}}
}
