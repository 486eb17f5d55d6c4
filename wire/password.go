package wire

// CheckPassword: the rules of Authenticate for a password typed into a form
// (the admin listener's status page) instead of a protocol exchange.

import (
	"context"
	"crypto/subtle"
	"net"

	"github.com/jackc/pgerrcode"
)

// CheckPassword reports whether user may log in with password from remote
// by a's rules, the same as Authenticate's: under trust a loopback client
// needs no password (any password, "" too, is accepted) and a remote one
// is checked against the configured users only; otherwise the configured
// users come first, then the roles of UseRoles. An unknown user, a role
// without a password and a wrong password get the same error (28P01), after
// the same work; a NOLOGIN role with the right password gets 28000. The
// error's Cause holds the reason for the log, never a secret. Whether the
// role exists and may connect to the database is the session's to check,
// as it is over the wire.
func (a *PasswordAuth) CheckPassword(ctx context.Context, user, password string, remote net.Addr) error {
	if a.method == AuthTrust {
		if isLoopback(remote) {
			return nil
		}
		if len(a.users) == 0 {
			e := fatal(pgerrcode.InvalidAuthorizationSpecification,
				"no trust for host \"%s\", user \"%s\": trust authentication admits loopback clients only", host(remote), user)
			e.Hint = "Configure users and auth: scram-sha-256 to accept remote clients."
			return e
		}
	}
	if s, known := a.users[user]; known {
		if s.md5 != "" {
			ok := subtle.ConstantTimeCompare([]byte(MD5Secret(user, password)), []byte(s.md5)) == 1
			return passwordResult(user, ok, "password does not match")
		}
		return passwordResult(user, s.scram.Matches(password), "password does not match")
	}
	if a.roles != nil && a.method != AuthTrust {
		r, ok, err := a.roles.LookupRole(ctx, user)
		if err != nil {
			e := fatal(pgerrcode.CannotConnectNow, "the roles catalog cannot be read")
			e.Cause = err
			return e
		}
		if ok {
			return a.checkRole(user, password, r)
		}
	}
	// The same derivation as for a known user: the time taken does not
	// tell whether the user exists.
	a.mockVerifier(user).Matches(password)
	return passwordResult(user, false, "no such user")
}

// checkRole checks password against a CREATE ROLE role's verifier.
func (a *PasswordAuth) checkRole(user, password string, r StoredRole) error {
	if r.Verifier == "" {
		a.mockVerifier(user).Matches(password)
		return passwordResult(user, false, "the role has no password")
	}
	v, err := ParseSCRAMVerifier(r.Verifier)
	if err != nil {
		a.mockVerifier(user).Matches(password)
		return passwordResult(user, false, "the role's stored verifier is malformed")
	}
	if !v.Matches(password) {
		return passwordResult(user, false, "password does not match")
	}
	if !r.Login {
		return fatal(pgerrcode.InvalidAuthorizationSpecification, "role \"%s\" is not permitted to log in", user)
	}
	return nil
}

func passwordResult(user string, ok bool, reason string) error {
	if ok {
		return nil
	}
	return withReason(errPasswordFailed(user), reason)
}
