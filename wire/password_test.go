package wire

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// TestCheckPassword: a password typed into a form is judged as the
// protocol's exchange judges it: configured users first, then the roles,
// one answer for an unknown user and a wrong password, NOLOGIN refused
// after the right password, trust for loopback clients only.
func TestCheckPassword(t *testing.T) {
	loopback := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 40000}
	remote := &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 40000}
	roles := fakeRoles{
		"carol":   {Verifier: scramSecret(t, "carol pw"), Login: true},
		"alice":   {Verifier: scramSecret(t, "role pw"), Login: true}, // shadowed by the configured alice
		"nopw":    {Login: true},
		"nologin": {Verifier: scramSecret(t, "x"), Login: false},
		"bad":     {Verifier: "SCRAM-SHA-256$nonsense", Login: true},
	}
	code := func(err error) string {
		if err == nil {
			return ""
		}
		var pe *pgerr.Error
		if !errors.As(err, &pe) {
			t.Fatalf("%v is not a *pgerr.Error", err)
		}
		return pe.Code
	}
	for _, method := range []string{AuthSCRAM, AuthMD5} {
		t.Run(method, func(t *testing.T) {
			users := map[string]string{"alice": scramSecret(t, "config pw")}
			if method == AuthMD5 {
				users["md"] = MD5Secret("md", "md5 pw")
			}
			a := mustAuth(t, method, users)
			a.UseRoles(roles)
			for _, c := range []struct {
				user, pw, want string
			}{
				{"alice", "config pw", ""},
				{"alice", "role pw", pgerrcode.InvalidPassword},
				{"carol", "carol pw", ""},
				{"carol", "wrong", pgerrcode.InvalidPassword},
				{"carol", "", pgerrcode.InvalidPassword},
				{"nopw", "", pgerrcode.InvalidPassword},
				{"nopw", "anything", pgerrcode.InvalidPassword},
				{"bad", "x", pgerrcode.InvalidPassword},
				{"nobody", "x", pgerrcode.InvalidPassword},
				{"nologin", "wrong", pgerrcode.InvalidPassword},
				{"nologin", "x", pgerrcode.InvalidAuthorizationSpecification},
				{"broken", "x", pgerrcode.CannotConnectNow},
			} {
				// Loopback or not makes no difference outside trust.
				for _, addr := range []net.Addr{loopback, remote} {
					err := a.CheckPassword(t.Context(), c.user, c.pw, addr)
					if got := code(err); got != c.want {
						t.Errorf("%s/%s from %v: got %q (%v), want %q", c.user, c.pw, addr, got, err, c.want)
					}
					if c.want == pgerrcode.InvalidPassword && err.Error() != `password authentication failed for user "`+c.user+`"` {
						t.Errorf("%s: the message tells more than a wrong password: %q", c.user, err.Error())
					}
					if err != nil && strings.Contains(err.Error(), c.pw) && c.pw != "" && c.pw != "x" {
						t.Errorf("the error quotes the password: %v", err)
					}
				}
			}
			if method == AuthMD5 {
				if err := a.CheckPassword(t.Context(), "md", "md5 pw", remote); err != nil {
					t.Errorf("md5 user: %v", err)
				}
				if got := code(a.CheckPassword(t.Context(), "md", "wrong", remote)); got != pgerrcode.InvalidPassword {
					t.Errorf("md5 user, wrong password: %q", got)
				}
			}
		})
	}
	t.Run("trust", func(t *testing.T) {
		a := mustAuth(t, AuthTrust, map[string]string{"alice": scramSecret(t, "config pw")})
		looked := false
		a.UseRoles(roleFunc(func(string) { looked = true }))
		if err := a.CheckPassword(t.Context(), "anyone", "", loopback); err != nil {
			t.Errorf("trust from loopback: %v", err)
		}
		if err := a.CheckPassword(t.Context(), "alice", "config pw", remote); err != nil {
			t.Errorf("trust, remote configured user: %v", err)
		}
		if got := code(a.CheckPassword(t.Context(), "alice", "", remote)); got != pgerrcode.InvalidPassword {
			t.Errorf("trust, remote, no password: %q", got)
		}
		if got := code(a.CheckPassword(t.Context(), "carol", "carol pw", remote)); got != pgerrcode.InvalidPassword {
			t.Errorf("trust, remote role: %q", got)
		}
		if looked {
			t.Error("a remote client under trust was checked against the SQL roles")
		}
		none := mustAuth(t, AuthTrust, nil)
		if got := code(none.CheckPassword(t.Context(), "sluice", "", remote)); got != pgerrcode.InvalidAuthorizationSpecification {
			t.Errorf("trust without users, remote: %q", got)
		}
	})
}
