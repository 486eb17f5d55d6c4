package catalog

// Secrets (CREATE SECRET) and the credentials of connector sources.
//
// A secret's value is stored only as AES-256-GCM ciphertext under the key
// of the gateway's configuration (secrets.key_file or secrets.key_env): a
// random nonce per value, and the secret's quoted name bound as additional
// data, so a ciphertext copied onto another secret's row does not open.
// The plaintext is never written to DuckDB: it exists in memory only while
// a statement or a connector uses it.
//
// A connector source's credential options (connectors.OptionSpec.Secret)
// are kept apart from its displayed options (sluice.sources.options, which
// shows them as references or ********): one row of
// sluice_catalog.source_credentials each, holding the reference (a secret's name,
// an environment variable, a file) or, for a value given in clear, the
// value: sealed with the key when one is configured, in the clear
// otherwise (key_id ''), since without a key there is nothing to seal it
// with. The rows that name a secret are the dependencies DROP SECRET
// checks.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// secretsDDL creates the tables of secrets and source credentials.
const secretsDDL = `CREATE TABLE IF NOT EXISTS sluice_catalog.secrets (
		schema      VARCHAR NOT NULL,
		name        VARCHAR NOT NULL,
		owner       VARCHAR NOT NULL,
		key_id      VARCHAR NOT NULL,
		ciphertext  BLOB NOT NULL,
		created_at  TIMESTAMPTZ NOT NULL,
		updated_at  TIMESTAMPTZ NOT NULL
	)`

// credentialsDDL: form is plain, secret, env or file; reference the
// variable or path (env, file); secret_schema and secret_name the secret
// (secret); value the value (plain), sealed under key_id, or in the clear
// when key_id is ”.
const credentialsDDL = `CREATE TABLE IF NOT EXISTS sluice_catalog.source_credentials (
		source_id      BIGINT NOT NULL,
		option         VARCHAR NOT NULL,
		form           VARCHAR NOT NULL,
		reference      VARCHAR,
		secret_schema  VARCHAR,
		secret_name    VARCHAR,
		value          BLOB,
		key_id         VARCHAR NOT NULL
	)`

// KeySize is the size of a secrets key: AES-256.
const KeySize = 32

// Keyring seals and opens values with the gateway's secrets key. It holds
// no plaintext but the key.
type Keyring struct {
	aead cipher.AEAD
	id   string
}

// NewKeyring returns a keyring over key, which must be KeySize bytes. Its
// errors never show the key.
func NewKeyring(key []byte) (*Keyring, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("a secrets key is %d bytes (AES-256), this one is %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("sluice secrets key id\x00"), key...))
	return &Keyring{aead: aead, id: hex.EncodeToString(sum[:8])}, nil
}

// ID names the key without revealing it (a truncated hash), so a value
// sealed with another key is told apart from a corrupted one.
func (k *Keyring) ID() string { return k.id }

// sealVersion is the first byte of every sealed value: the format (nonce,
// then AES-256-GCM ciphertext and tag).
const sealVersion = 1

// seal encrypts plain with a fresh random nonce, binding aad.
func (k *Keyring) seal(aad string, plain []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	out := append([]byte{sealVersion}, nonce...)
	return k.aead.Seal(out, nonce, plain, []byte(aad))
}

// open decrypts what seal made with the same key and aad; what names the
// value in errors.
func (k *Keyring) open(what, aad string, sealed []byte, keyID string) ([]byte, error) {
	if k == nil {
		e := pgerr.New(pgerrcode.ObjectNotInPrerequisiteState, "%s cannot be decrypted: no secrets key is configured", what)
		e.Hint = "Start the gateway with the key it was stored with (config key secrets.key_file or secrets.key_env)."
		return nil, e
	}
	if keyID != k.id {
		e := pgerr.New(pgerrcode.ObjectNotInPrerequisiteState, "%s was encrypted with another secrets key (key id %s; the configured key's id is %s)", what, keyID, k.id)
		e.Hint = "Start the gateway with the key it was stored with (config key secrets.key_file or secrets.key_env), or store the value again."
		return nil, e
	}
	n := k.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return nil, pgerr.New(pgerrcode.DataCorrupted, "%s is corrupted: not a sealed value", what)
	}
	plain, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(aad))
	if err != nil {
		return nil, pgerr.New(pgerrcode.DataCorrupted, "%s is corrupted: it does not decrypt with its key (key id %s)", what, k.id)
	}
	return plain, nil
}

// secretAAD binds a secret's ciphertext to its name.
func secretAAD(ref Ref) string { return "secret " + quoteRef(ref) }

// credentialAAD binds a stored credential to its source and option.
func credentialAAD(sourceID int64, option string) string {
	return fmt.Sprintf("source %d option %s", sourceID, quoteIdent(option))
}

func secretMissing(ref Ref) error {
	return pgerr.New(pgerrcode.UndefinedObject, "secret %q does not exist", ref.Name)
}

// Secret is a secret's description (never its value).
type Secret struct {
	Ref   Ref
	Owner string
}

// CreateSecret stores a new secret, sealed with k, owned by owner: 42710
// when the name is taken.
func (s *Store) CreateSecret(ctx context.Context, k *Keyring, ref Ref, owner string, value []byte) error {
	if k == nil {
		return errNoKey()
	}
	sealed := k.seal(secretAAD(ref), value)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if ok, err := secretExists(ctx, tx, ref); err != nil || ok {
			if err == nil {
				err = pgerr.New(pgerrcode.DuplicateObject, "secret %q already exists", ref.Name)
			}
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.secrets VALUES ($1, $2, $3, $4, $5, now(), now())`,
			ref.Schema, ref.Name, owner, k.id, sealed)
		return err
	})
}

// AlterSecret replaces a secret's value: 42704 when there is none.
func (s *Store) AlterSecret(ctx context.Context, k *Keyring, ref Ref, value []byte) error {
	if k == nil {
		return errNoKey()
	}
	sealed := k.seal(secretAAD(ref), value)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if ok, err := secretExists(ctx, tx, ref); err != nil || !ok {
			if err == nil {
				err = secretMissing(ref)
			}
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.secrets SET key_id = $3, ciphertext = $4, updated_at = now() WHERE schema = $1 AND name = $2`,
			ref.Schema, ref.Name, k.id, sealed)
		return err
	})
}

// DropSecret removes a secret: 42704 when there is none, 2BP01 when a
// source uses it (SecretUsers; the caller drops those first for CASCADE).
func (s *Store) DropSecret(ctx context.Context, ref Ref) error {
	return s.ddlTx(ctx, func(tx *sql.Tx) error {
		if ok, err := secretExists(ctx, tx, ref); err != nil || !ok {
			if err == nil {
				err = secretMissing(ref)
			}
			return err
		}
		users, err := secretUsers(ctx, tx, ref)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return SecretInUse(ref, users)
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM sluice_catalog.secrets WHERE schema = $1 AND name = $2`, ref.Schema, ref.Name); err != nil {
			return err
		}
		return deleteACL(ctx, tx, Object{Kind: ObjectSecret, Schema: ref.Schema, Name: ref.Name})
	})
}

// SecretInUse is PostgreSQL's 2BP01 for a secret that sources (users)
// use.
func SecretInUse(ref Ref, users []Ref) error {
	details := make([]string, len(users))
	for i, u := range users {
		details[i] = fmt.Sprintf("source %s depends on secret %s", u.Name, ref.Name)
	}
	e := pgerr.New(pgerrcode.DependentObjectsStillExist, "cannot drop secret %s because other objects depend on it", ref.Name)
	e.Detail = strings.Join(details, "\n")
	e.Hint = "Use DROP ... CASCADE to drop the dependent objects too."
	return e
}

func errNoKey() error {
	e := pgerr.Unsupported("secrets need a secrets key, and none is configured")
	e.Hint = "Configure secrets.key_file or secrets.key_env: the base64 of 32 random bytes (openssl rand -base64 32). See docs/security.md, Secrets."
	return e
}

// GetSecret describes the secret named ref: 42704 when there is none.
func (s *Store) GetSecret(ctx context.Context, ref Ref) (Secret, error) {
	sec := Secret{Ref: ref}
	err := s.db.QueryRowContext(ctx, `SELECT owner FROM sluice_catalog.secrets WHERE schema = $1 AND name = $2`, ref.Schema, ref.Name).Scan(&sec.Owner)
	if errors.Is(err, sql.ErrNoRows) {
		return sec, secretMissing(ref)
	}
	return sec, err
}

// SecretValue decrypts the secret named ref with k: 42704 when there is
// none, 55000 when k is not the key it was sealed with (or there is no
// key), XX001 when it does not decrypt.
func (s *Store) SecretValue(ctx context.Context, k *Keyring, ref Ref) ([]byte, error) {
	var keyID string
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT key_id, ciphertext FROM sluice_catalog.secrets WHERE schema = $1 AND name = $2`, ref.Schema, ref.Name).Scan(&keyID, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, secretMissing(ref)
	}
	if err != nil {
		return nil, err
	}
	return k.open(fmt.Sprintf("secret %q", ref.Name), secretAAD(ref), sealed, keyID)
}

// SecretUsers lists the sources whose options reference the secret.
func (s *Store) SecretUsers(ctx context.Context, ref Ref) ([]Ref, error) {
	var users []Ref
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		users, err = secretUsers(ctx, tx, ref)
		return err
	})
	return users, err
}

// SecretSources returns the ids of the sources whose options reference the
// secret (to reopen them with its new value).
func (s *Store) SecretSources(ctx context.Context, ref Ref) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT source_id FROM sluice_catalog.source_credentials
		WHERE form = 'secret' AND secret_schema = $1 AND secret_name = $2 ORDER BY source_id`, ref.Schema, ref.Name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func secretExists(ctx context.Context, tx *sql.Tx, ref Ref) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sluice_catalog.secrets WHERE schema = $1 AND name = $2`, ref.Schema, ref.Name).Scan(&n)
	return n > 0, err
}

func secretUsers(ctx context.Context, tx *sql.Tx, ref Ref) ([]Ref, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT s.schema, s.name FROM sluice_catalog.source_credentials c
		JOIN sluice_catalog.sources s ON s.id = c.source_id
		WHERE c.form = 'secret' AND c.secret_schema = $1 AND c.secret_name = $2 ORDER BY 1, 2`, ref.Schema, ref.Name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Ref
	for rows.Next() {
		var r Ref
		if err := rows.Scan(&r.Schema, &r.Name); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Credential forms: how a credential option was given.
const (
	CredentialPlain  = "plain"  // option = 'value'
	CredentialSecret = "secret" // option = SECRET name
	CredentialEnv    = "env"    // option_env = 'VARIABLE'
	CredentialFile   = "file"   // option_file = '/path'
)

// Credential is how one credential option of a source is given. Only a
// plain credential holds a value, sealed when a key was configured.
type Credential struct {
	Option string // the connector option it gives: "password", "dsn", ...
	Form   string // CredentialPlain, CredentialSecret, CredentialEnv or CredentialFile
	Ref    string // env: the variable's name; file: the path
	Secret Ref    // secret: the secret's name
	Value  []byte // plain: the value, sealed under KeyID, or in the clear when KeyID is ""
	KeyID  string
}

// PlainCredential is option's value given in clear, sealed with k for
// source id (in the clear when k is nil: there is no key to seal it with).
func PlainCredential(k *Keyring, sourceID int64, option, value string) Credential {
	c := Credential{Option: option, Form: CredentialPlain}
	if k == nil {
		c.Value = []byte(value)
		return c
	}
	c.Value, c.KeyID = k.seal(credentialAAD(sourceID, option), []byte(value)), k.id
	return c
}

// Plain is a plain credential's value, opened with k.
func (c Credential) Plain(k *Keyring, sourceID int64) (string, error) {
	if c.KeyID == "" {
		return string(c.Value), nil
	}
	v, err := k.open(fmt.Sprintf("the stored value of option %q of source %d", c.Option, sourceID), credentialAAD(sourceID, c.Option), c.Value, c.KeyID)
	return string(v), err
}

// Credentials returns the credentials of source id.
func (s *Store) Credentials(ctx context.Context, sourceID int64) ([]Credential, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT option, form, coalesce(reference, ''), coalesce(secret_schema, ''), coalesce(secret_name, ''), value, key_id
		FROM sluice_catalog.source_credentials WHERE source_id = $1 ORDER BY option`, sourceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		var c Credential
		if err := rows.Scan(&c.Option, &c.Form, &c.Ref, &c.Secret.Schema, &c.Secret.Name, &c.Value, &c.KeyID); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// insertCredentials records src's credentials inside CreateSource's
// transaction; a secret it names must still exist (42704).
func insertCredentials(ctx context.Context, tx *sql.Tx, src Source) error {
	for _, c := range src.Credentials {
		var secretSchema, secretName, ref any
		if c.Form == CredentialSecret {
			if ok, err := secretExists(ctx, tx, c.Secret); err != nil || !ok {
				if err == nil {
					err = secretMissing(c.Secret)
				}
				return err
			}
			secretSchema, secretName = c.Secret.Schema, c.Secret.Name
		}
		if c.Ref != "" {
			ref = c.Ref
		}
		var value any
		if c.Value != nil {
			value = c.Value
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sluice_catalog.source_credentials VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			src.ID, c.Option, c.Form, ref, secretSchema, secretName, value, c.KeyID); err != nil {
			return fmt.Errorf("recording credentials: %w", err)
		}
	}
	return nil
}

// deleteCredentials removes a dropped source's credentials inside Drop's
// transaction.
func deleteCredentials(ctx context.Context, tx *sql.Tx, ref Ref) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM sluice_catalog.source_credentials WHERE source_id IN
		(SELECT id FROM sluice_catalog.sources WHERE schema = $1 AND name = $2)`, ref.Schema, ref.Name)
	return err
}

// SetSecretOwner records a secret's new owner (ALTER SECRET ... OWNER TO,
// REASSIGN OWNED).
func (s *Store) SetSecretOwner(ctx context.Context, ref Ref, owner string) error {
	return s.ddlTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sluice_catalog.secrets SET owner = $3, updated_at = now() WHERE schema = $1 AND name = $2`,
			ref.Schema, ref.Name, owner)
		return err
	})
}
