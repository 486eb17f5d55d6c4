package wire

// PasswordAuth: the Authenticator of the users in the gateway's
// configuration, with PostgreSQL's methods trust, scram-sha-256 and md5.

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Authentication methods (PostgreSQL's pg_hba.conf names).
const (
	// AuthTrust lets loopback clients in without a password; other clients
	// authenticate as with scram-sha-256.
	AuthTrust = "trust"
	// AuthSCRAM asks every client for a SCRAM-SHA-256 exchange.
	AuthSCRAM = "scram-sha-256"
	// AuthMD5 allows users stored with an md5 hash to use md5; users
	// stored with a SCRAM verifier still use SCRAM, as in PostgreSQL.
	AuthMD5 = "md5"
)

// PasswordAuth authenticates the users it was built with. The zero value
// is not usable; use NewPasswordAuth.
type PasswordAuth struct {
	method string
	users  map[string]userSecret
	// roles finds the users that are not in users (CREATE ROLE); nil
	// when there are none.
	roles RoleSource
	// mockKey derives the salt of the exchange run for an unknown user,
	// so that it looks like a known user's and fails the same way.
	mockKey []byte
}

// userSecret is a user's stored password: exactly one field is set.
type userSecret struct {
	scram *SCRAMVerifier
	md5   string // "md5" + hex(md5(password + user))
}

var _ Authenticator = (*PasswordAuth)(nil)

// RoleSource is where PasswordAuth finds the users its configuration does
// not list: the roles made with CREATE ROLE, kept by the gateway.
type RoleSource interface {
	// LookupRole returns the role called name; ok is false when there is
	// none. Its errors must not quote the verifier.
	LookupRole(ctx context.Context, name string) (r StoredRole, ok bool, err error)
}

// StoredRole is what PasswordAuth needs of a role.
type StoredRole struct {
	// Verifier is the role's SCRAM-SHA-256 verifier, "" when the role has
	// no password (no password then matches).
	Verifier string
	// Login is false for a NOLOGIN role, which is refused (28000) even with
	// the right password, as PostgreSQL does.
	Login bool
}

// UseRoles makes a authenticate the roles of r as well, after the users of
// its configuration, which take precedence. Under trust they are not
// consulted: trust lets loopback clients in as anyone, and any of them could
// create a role, so only configured users may log in from elsewhere. Call it
// before the server serves.
func (a *PasswordAuth) UseRoles(r RoleSource) { a.roles = r }

// HasUser reports whether name is a user of the configuration.
func (a *PasswordAuth) HasUser(name string) bool {
	_, ok := a.users[name]
	return ok
}

// NewPasswordAuth returns the authenticator for method (AuthTrust,
// AuthSCRAM or AuthMD5) and users, which maps a user name to its stored
// secret: a SCRAM-SHA-256 verifier, or under md5 an md5 hash. A plain
// password is an error. Errors name the user, never the secret.
func NewPasswordAuth(method string, users map[string]string) (*PasswordAuth, error) {
	switch method {
	case AuthTrust, AuthSCRAM, AuthMD5:
	default:
		return nil, fmt.Errorf("unknown authentication method %q (want %s, %s or %s)", method, AuthTrust, AuthSCRAM, AuthMD5)
	}
	a := &PasswordAuth{method: method, users: make(map[string]userSecret, len(users)), mockKey: make([]byte, 32)}
	if _, err := rand.Read(a.mockKey); err != nil {
		return nil, err
	}
	for name, secret := range users {
		if err := CheckSecret(method, secret); err != nil {
			return nil, fmt.Errorf("user %q: %w", name, err)
		}
		s, _ := parseSecret(secret)
		a.users[name] = s
	}
	return a, nil
}

// CheckSecret checks a stored password for method: a SCRAM-SHA-256
// verifier, or under md5 also an md5 hash. Its errors never quote the
// secret.
func CheckSecret(method, secret string) error {
	s, err := parseSecret(secret)
	if err != nil {
		return err
	}
	if s.md5 != "" && method != AuthMD5 {
		return fmt.Errorf("an md5 password needs auth %s; use a SCRAM verifier (`gateway password`)", AuthMD5)
	}
	return nil
}

// parseSecret parses a SCRAM-SHA-256 verifier or an md5 hash (md5 followed
// by 32 hex digits). Its errors never quote the secret.
func parseSecret(secret string) (userSecret, error) {
	if strings.HasPrefix(secret, mechSCRAM+"$") {
		v, err := ParseSCRAMVerifier(secret)
		if err != nil {
			return userSecret{}, err
		}
		return userSecret{scram: v}, nil
	}
	if h, ok := strings.CutPrefix(secret, "md5"); ok && len(h) == 32 {
		if _, err := hex.DecodeString(h); err == nil {
			return userSecret{md5: strings.ToLower(secret)}, nil
		}
	}
	return userSecret{}, errors.New("password must be a SCRAM-SHA-256 verifier (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, made by `gateway password`) or, with auth md5, an md5 hash; plain passwords are not accepted")
}

// MD5Secret returns PostgreSQL's md5 password hash of user's password.
func MD5Secret(user, password string) string {
	sum := md5.Sum([]byte(password + user))
	return "md5" + hex.EncodeToString(sum[:])
}

// Authenticate implements Authenticator.
func (a *PasswordAuth) Authenticate(ctx context.Context, info StartupInfo, ac AuthConn) error {
	if a.method == AuthTrust {
		if isLoopback(info.RemoteAddr) {
			return nil
		}
		if len(a.users) == 0 {
			e := fatal(pgerrcode.InvalidAuthorizationSpecification,
				"no trust for host \"%s\", user \"%s\": trust authentication admits loopback clients only", host(info.RemoteAddr), info.User)
			e.Hint = "Configure users and auth: scram-sha-256 to accept remote clients."
			return e
		}
	}
	s, known := a.users[info.User]
	switch {
	case known && s.md5 != "":
		return md5Exchange(ac, info.User, s.md5)
	case known:
		return withReason(scramExchange(ac, info.User, s.scram), "password does not match")
	}
	if a.roles != nil && a.method != AuthTrust {
		r, ok, err := a.roles.LookupRole(ctx, info.User)
		if err != nil {
			e := fatal(pgerrcode.CannotConnectNow, "the roles catalog cannot be read")
			e.Cause = err
			return e
		}
		if ok {
			return a.roleExchange(ac, info.User, r)
		}
	}
	if a.method == AuthMD5 {
		return md5Exchange(ac, info.User, "")
	}
	return withReason(scramExchange(ac, info.User, a.mockVerifier(info.User)), "no such user")
}

// roleExchange authenticates a role made with CREATE ROLE. Its password is
// only a SCRAM verifier, so it uses SCRAM whatever the method (under md5 as
// well, as PostgreSQL does for a SCRAM-stored password): a client that can
// only do md5 cannot log in as it.
func (a *PasswordAuth) roleExchange(ac AuthConn, user string, r StoredRole) error {
	if r.Verifier == "" {
		return withReason(scramExchange(ac, user, a.mockVerifier(user)), "the role has no password")
	}
	v, err := ParseSCRAMVerifier(r.Verifier)
	if err != nil {
		return withReason(scramExchange(ac, user, a.mockVerifier(user)), "the role's stored verifier is malformed")
	}
	if err := scramExchange(ac, user, v); err != nil {
		return withReason(err, "password does not match")
	}
	if !r.Login {
		return fatal(pgerrcode.InvalidAuthorizationSpecification, "role \"%s\" is not permitted to log in", user)
	}
	return nil
}

// withReason adds a reason for the server's log (never sent to the client,
// never a secret) to a failed password check.
func withReason(err error, reason string) error {
	if e, ok := err.(*pgerr.Error); ok && e.Code == pgerrcode.InvalidPassword && e.Cause == nil {
		e.Cause = errors.New(reason)
	}
	return err
}

// mockVerifier is the verifier used for an unknown user: its salt is the
// same on every attempt for the same name, as a real one would be, and no
// password matches it.
func (a *PasswordAuth) mockVerifier(user string) *SCRAMVerifier {
	m := hmac.New(sha256.New, a.mockKey)
	m.Write([]byte("salt\x00" + user))
	salt := m.Sum(nil)[:scramSaltLen]
	key := make([]byte, sha256.Size)
	_, _ = rand.Read(key)
	return &SCRAMVerifier{Iterations: DefaultSCRAMIterations, Salt: salt, StoredKey: key, ServerKey: key}
}

// md5Exchange runs PostgreSQL's md5 authentication against stored, the
// user's md5 hash ("" for an unknown user, which always fails).
func md5Exchange(ac AuthConn, user, stored string) error {
	var salt [4]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return err
	}
	ac.Send(&pgproto3.AuthenticationMD5Password{Salt: salt})
	if err := ac.Flush(); err != nil {
		return err
	}
	if err := ac.SetAuthType(pgproto3.AuthTypeMD5Password); err != nil {
		return err
	}
	msg, err := ac.Receive()
	if err != nil {
		return err
	}
	pw, ok := msg.(*pgproto3.PasswordMessage)
	if !ok {
		return fatal(pgerrcode.ProtocolViolation, "expected password response, got %T", msg)
	}
	if stored == "" {
		return withReason(errPasswordFailed(user), "no such user")
	}
	sum := md5.Sum(append([]byte(stored[3:]), salt[:]...))
	want := "md5" + hex.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(pw.Password), []byte(want)) != 1 {
		return withReason(errPasswordFailed(user), "password does not match")
	}
	return nil
}

// errPasswordFailed is PostgreSQL's answer to a wrong password and to an
// unknown user alike, so that user names cannot be probed.
func errPasswordFailed(user string) *pgerr.Error {
	return fatal(pgerrcode.InvalidPassword, "password authentication failed for user \"%s\"", user)
}

func isLoopback(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

func host(addr net.Addr) string {
	if a, ok := addr.(*net.TCPAddr); ok {
		return a.IP.String()
	}
	if addr == nil {
		return ""
	}
	return addr.String()
}
