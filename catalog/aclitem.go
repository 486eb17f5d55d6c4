package catalog

import (
	"fmt"
	"strings"
)

// ACLItem is one entry of an access control list in PostgreSQL's aclitem
// text form, "grantee=privileges/grantor": privileges are PostgreSQL's
// letters (r SELECT, a INSERT, w UPDATE, d DELETE, D TRUNCATE, U USAGE,
// C CREATE, c CONNECT, T TEMPORARY, m MAINTAIN, which Sluice's REFRESH
// privilege uses), each followed by '*' when it may be granted on. An empty
// grantee is PUBLIC. Names holding other characters than letters, digits
// and '_' are double-quoted, as PostgreSQL prints them.
type ACLItem struct {
	Grantee    string
	Privileges string // letters, without '*'
	Grantable  string // the letters that carry '*'
	Grantor    string
}

func (a ACLItem) String() string {
	var b strings.Builder
	b.WriteString(quoteACLName(a.Grantee))
	b.WriteByte('=')
	for _, c := range a.Privileges {
		b.WriteRune(c)
		if strings.ContainsRune(a.Grantable, c) {
			b.WriteByte('*')
		}
	}
	b.WriteByte('/')
	b.WriteString(quoteACLName(a.Grantor))
	return b.String()
}

// ParseACLItem reads the text form of an ACLItem.
func ParseACLItem(s string) (ACLItem, error) {
	grantee, rest, err := aclName(s)
	if err != nil || !strings.HasPrefix(rest, "=") {
		return ACLItem{}, fmt.Errorf("catalog: bad aclitem %q", s)
	}
	rest = rest[1:]
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return ACLItem{}, fmt.Errorf("catalog: bad aclitem %q", s)
	}
	a := ACLItem{Grantee: grantee}
	for _, c := range rest[:slash] {
		if c == '*' {
			if a.Privileges != "" {
				a.Grantable += a.Privileges[len(a.Privileges)-1:]
			}
			continue
		}
		a.Privileges += string(c)
	}
	grantor, tail, err := aclName(rest[slash+1:])
	if err != nil || tail != "" {
		return ACLItem{}, fmt.Errorf("catalog: bad aclitem %q", s)
	}
	a.Grantor = grantor
	return a, nil
}

// aclName reads a role name, quoted or not, from the start of s.
func aclName(s string) (name, rest string, err error) {
	if !strings.HasPrefix(s, `"`) {
		i := strings.IndexAny(s, "=/")
		if i < 0 {
			return s, "", nil
		}
		return s[:i], s[i:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] == '"' {
			if i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			return b.String(), s[i+1:], nil
		}
		b.WriteByte(s[i])
	}
	return "", "", fmt.Errorf("unterminated quoted name")
}

func quoteACLName(n string) string {
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
		}
	}
	return n
}

// RenameInACL returns acl with the role from renamed to to, as grantee and
// as grantor, and whether any item changed.
func RenameInACL(acl []string, from, to string) ([]string, bool) {
	out := make([]string, 0, len(acl))
	at := map[[2]string]int{} // (grantee, grantor) -> index in out
	changed := false
	for _, s := range acl {
		a, err := ParseACLItem(s)
		if err != nil {
			out = append(out, s)
			continue
		}
		if a.Grantee == from {
			a.Grantee, changed = to, true
		}
		if a.Grantor == from {
			a.Grantor, changed = to, true
		}
		// Two items that became one grantee's from one grantor merge, as
		// PostgreSQL's aclnewowner merges them.
		key := [2]string{a.Grantee, a.Grantor}
		if i, ok := at[key]; ok {
			prev, _ := ParseACLItem(out[i])
			prev.Privileges = mergeLetters(prev.Privileges, a.Privileges)
			prev.Grantable = mergeLetters(prev.Grantable, a.Grantable)
			out[i] = prev.String()
			continue
		}
		at[key] = len(out)
		out = append(out, a.String())
	}
	return out, changed
}

// aclLetterOrder is the order PostgreSQL writes aclitem letters in
// (ACL_ALL_RIGHTS_STR; m is PostgreSQL 17's MAINTAIN, Sluice's REFRESH).
const aclLetterOrder = "arwdDxtXUCTcsAm"

// mergeLetters is the union of two sets of aclitem letters, in
// PostgreSQL's order.
func mergeLetters(a, b string) string {
	var out strings.Builder
	for _, c := range aclLetterOrder {
		if strings.ContainsRune(a, c) || strings.ContainsRune(b, c) {
			out.WriteRune(c)
		}
	}
	return out.String()
}
