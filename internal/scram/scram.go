// Package scram holds SCRAM-SHA-256 verifiers in PostgreSQL's format
// (pg_authid.rolpassword): deriving one from a password, parsing and
// printing it, and checking a client's proof or a password against it.
// The wire protocol's exchange (package wire) and the role statements
// (package access) share it.
package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Mechanism is the SASL mechanism's name, and the verifier's prefix.
const Mechanism = "SCRAM-SHA-256"

// DefaultIterations is PostgreSQL's scram_iterations default.
const DefaultIterations = 4096

// SaltLen is PostgreSQL's SCRAM_DEFAULT_SALT_LEN.
const SaltLen = 16

// Verifier is what the server stores for a SCRAM-SHA-256 password:
// enough to check a client's proof, not enough to log in.
type Verifier struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte // H(ClientKey)
	ServerKey  []byte
}

// New derives the verifier of password with a random salt.
// The password is used as given (PostgreSQL applies SASLprep first, which
// changes only non-ASCII passwords).
func New(password string, iterations int) (*Verifier, error) {
	if iterations <= 0 {
		return nil, fmt.Errorf("SCRAM iterations must be positive, got %d", iterations)
	}
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	return Derive(password, salt, iterations)
}

// Derive derives the verifier of password with salt.
func Derive(password string, salt []byte, iterations int) (*Verifier, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return nil, err
	}
	clientKey := HMAC(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	return &Verifier{
		Iterations: iterations,
		Salt:       salt,
		StoredKey:  storedKey[:],
		ServerKey:  HMAC(salted, "Server Key"),
	}, nil
}

// Parse parses PostgreSQL's
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, base64 each.
// Its errors never quote the verifier.
func Parse(s string) (*Verifier, error) {
	rest, ok := strings.CutPrefix(s, Mechanism+"$")
	if !ok {
		return nil, errors.New("not a SCRAM-SHA-256 verifier (want SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)")
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return nil, errors.New("SCRAM verifier: missing '$' before the keys")
	}
	iter, salt, ok1 := strings.Cut(params, ":")
	stored, server, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return nil, errors.New("SCRAM verifier: want <iterations>:<salt>$<StoredKey>:<ServerKey>")
	}
	v := &Verifier{}
	var err error
	if v.Iterations, err = strconv.Atoi(iter); err != nil || v.Iterations <= 0 {
		return nil, errors.New("SCRAM verifier: iterations must be a positive integer")
	}
	if v.Salt, err = base64.StdEncoding.DecodeString(salt); err != nil || len(v.Salt) == 0 {
		return nil, errors.New("SCRAM verifier: salt is not base64")
	}
	if v.StoredKey, err = base64.StdEncoding.DecodeString(stored); err != nil || len(v.StoredKey) != sha256.Size {
		return nil, errors.New("SCRAM verifier: StoredKey is not 32 bytes of base64")
	}
	if v.ServerKey, err = base64.StdEncoding.DecodeString(server); err != nil || len(v.ServerKey) != sha256.Size {
		return nil, errors.New("SCRAM verifier: ServerKey is not 32 bytes of base64")
	}
	return v, nil
}

// String formats v as PostgreSQL stores it in pg_authid.rolpassword.
func (v *Verifier) String() string {
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%s$%d:%s$%s:%s", Mechanism, v.Iterations, b64(v.Salt), b64(v.StoredKey), b64(v.ServerKey))
}

// HMAC is HMAC-SHA-256 of msg under key.
func HMAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// VerifyProof checks a client's proof of authMessage and returns the server's
// signature for the server-final-message.
func (v *Verifier) VerifyProof(authMessage string, proof []byte) (serverSig []byte, ok bool) {
	clientSig := HMAC(v.StoredKey, authMessage)
	if len(proof) != len(clientSig) {
		return nil, false
	}
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ clientSig[i]
	}
	got := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(got[:], v.StoredKey) != 1 {
		return nil, false
	}
	return HMAC(v.ServerKey, authMessage), true
}

// Matches reports whether password is the one v was derived from (a
// password typed into a form, not a SCRAM exchange).
func (v *Verifier) Matches(password string) bool {
	d, err := Derive(password, v.Salt, v.Iterations)
	return err == nil && subtle.ConstantTimeCompare(d.StoredKey, v.StoredKey) == 1 &&
		subtle.ConstantTimeCompare(d.ServerKey, v.ServerKey) == 1
}
