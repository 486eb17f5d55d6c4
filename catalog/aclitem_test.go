package catalog

import (
	"slices"
	"testing"
)

func TestACLItem(t *testing.T) {
	for _, s := range []string{"bob=r/alice", "=r/alice", `"my role"=r*a/alice`, "alice=arwdDm/alice", `"we""ird"=U*C/x`} {
		a, err := ParseACLItem(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if a.String() != s {
			t.Errorf("round trip %q -> %+v -> %q", s, a, a.String())
		}
	}
	a, _ := ParseACLItem(`"my role"=r*a/alice`)
	if a.Grantee != "my role" || a.Privileges != "ra" || a.Grantable != "r" || a.Grantor != "alice" {
		t.Errorf("parsed %+v", a)
	}
	for _, bad := range []string{"bob", "bob=r", `"bob=r/a`} {
		if _, err := ParseACLItem(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	got, changed := RenameInACL([]string{"bob=r/alice", "carol=r/bob", "=r/alice"}, "bob", "robert")
	if !changed || !slices.Equal(got, []string{"robert=r/alice", "carol=r/robert", "=r/alice"}) {
		t.Errorf("rename: %v %v", got, changed)
	}
	// ALTER ... OWNER TO bob: the old owner's item and bob's grant merge.
	got, _ = RenameInACL([]string{"alice=arwdD/alice", "bob=r*w/alice", "=r/alice"}, "alice", "bob")
	if !slices.Equal(got, []string{"bob=ar*wdD/bob", "=r/bob"}) {
		t.Errorf("owner change: %v", got)
	}
}
