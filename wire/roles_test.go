package wire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"
)

// fakeRoles is a RoleSource over a map.
type fakeRoles map[string]StoredRole

func (f fakeRoles) LookupRole(_ context.Context, name string) (StoredRole, bool, error) {
	if name == "broken" {
		return StoredRole{}, false, errors.New("catalog closed")
	}
	r, ok := f[name]
	return r, ok, nil
}

func TestRoleSource(t *testing.T) {
	roles := fakeRoles{
		"carol":   {Verifier: scramSecret(t, "carol pw"), Login: true},
		"alice":   {Verifier: scramSecret(t, "role pw"), Login: true}, // shadowed by the configured alice
		"nopw":    {Login: true},
		"nologin": {Verifier: scramSecret(t, "x"), Login: false},
	}
	logs := &logBuffer{}
	for _, method := range []string{AuthSCRAM, AuthMD5} {
		t.Run(method, func(t *testing.T) {
			a := mustAuth(t, method, map[string]string{"alice": scramSecret(t, "config pw")})
			a.UseRoles(roles)
			ts := startServerConfig(t, newFakeHandler(), Config{
				Authenticator: a,
				Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			url := func(user, pw string) string {
				return fmt.Sprintf("postgres://%s:%s@%s/db?sslmode=disable", user, strings.ReplaceAll(pw, " ", "%20"), ts.addr)
			}
			mustDial(t, url("carol", "carol pw"))
			mustDial(t, url("alice", "config pw"))
			_, err := dial(t, url("alice", "role pw"))
			wantCode(t, err, pgerrcode.InvalidPassword)
			_, err = dial(t, url("carol", "wrong"))
			wantCode(t, err, pgerrcode.InvalidPassword)
			_, err = dial(t, url("nopw", "anything"))
			wantCode(t, err, pgerrcode.InvalidPassword)
			_, err = dial(t, url("nologin", "x"))
			pe := wantCode(t, err, pgerrcode.InvalidAuthorizationSpecification)
			if !strings.Contains(pe.Message, `role "nologin" is not permitted to log in`) {
				t.Fatalf("got %q", pe.Message)
			}
			_, err = dial(t, url("broken", "x"))
			wantCode(t, err, pgerrcode.CannotConnectNow)
		})
	}
	out := logs.String()
	for _, reason := range []string{`reason="password does not match"`, `reason="the role has no password"`, `reason="catalog closed"`} {
		if !strings.Contains(out, reason) {
			t.Errorf("the log lacks %s:\n%s", reason, out)
		}
	}
	for _, s := range []string{"carol pw", "role pw", roles["carol"].Verifier} {
		if strings.Contains(out, s) {
			t.Fatalf("the log holds %q", s)
		}
	}
}

func TestRoleSourceNotUsedUnderTrust(t *testing.T) {
	a := mustAuth(t, AuthTrust, map[string]string{"alice": scramSecret(t, "x")})
	looked := false
	a.UseRoles(roleFunc(func(string) { looked = true }))
	remote := StartupInfo{User: "carol", RemoteAddr: &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 5000}}
	_ = a.Authenticate(t.Context(), remote, &recordingAuthConn{})
	if looked {
		t.Fatal("a remote client under trust was checked against the SQL roles")
	}
}

type roleFunc func(string)

func (f roleFunc) LookupRole(_ context.Context, name string) (StoredRole, bool, error) {
	f(name)
	return StoredRole{}, false, nil
}
