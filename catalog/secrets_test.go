//go:build duckdb_arrow

package catalog

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/engine"
	"github.com/sluice-db/sluice/internal/pgerr"
)

func newKeyring(t *testing.T) *Keyring {
	t.Helper()
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	k, err := NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	if err == nil || pgerr.Code(err) != code || !strings.Contains(err.Error(), msg) {
		t.Fatalf("got %v (%s), want %s %q", err, pgerr.Code(err), code, msg)
	}
}

// rawBytes is every value of every row of table, as DuckDB stores it
// (BLOBs as their bytes), concatenated.
func rawBytes(t *testing.T, s *Store, table string) []byte {
	t.Helper()
	rows, err := s.DB().QueryContext(context.Background(), "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []byte
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				out = append(out, v...)
			case string:
				out = append(out, v...)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSecretRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := engine.Open(ctx, engine.Config{Path: filepath.Join(dir, "cat.duckdb")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := Open(ctx, db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	k := newKeyring(t)
	const plain = "pw-Plaintext-7f3a9c"
	ref := Ref{"public", "pgpw"}

	wantCode(t, s.CreateSecret(ctx, nil, ref, "alice", []byte(plain)), pgerrcode.FeatureNotSupported, "secrets key")
	if err := s.CreateSecret(ctx, k, ref, "alice", []byte(plain)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateSecret(ctx, k, ref, "bob", []byte("x")), pgerrcode.DuplicateObject, `secret "pgpw" already exists`)
	if got, err := s.SecretValue(ctx, k, ref); err != nil || string(got) != plain {
		t.Fatalf("SecretValue = %q, %v", got, err)
	}
	if sec, err := s.GetSecret(ctx, ref); err != nil || sec.Owner != "alice" {
		t.Fatalf("GetSecret = %+v, %v", sec, err)
	}
	_, err = s.SecretValue(ctx, k, Ref{"public", "nope"})
	wantCode(t, err, pgerrcode.UndefinedObject, `secret "nope" does not exist`)

	// The table holds ciphertext only: the plaintext's bytes are nowhere
	// in it, nor in DuckDB's files.
	if raw := rawBytes(t, s, "sluice_catalog.secrets"); bytes.Contains(raw, []byte(plain)) || !bytes.Contains(raw, []byte("alice")) {
		t.Fatalf("sluice_catalog.secrets holds the plaintext (or not the row): %q", raw)
	}

	// Another key, or none: a clear error, never garbage.
	_, err = s.SecretValue(ctx, newKeyring(t), ref)
	wantCode(t, err, pgerrcode.ObjectNotInPrerequisiteState, `secret "pgpw" was encrypted with another secrets key`)
	_, err = s.SecretValue(ctx, nil, ref)
	wantCode(t, err, pgerrcode.ObjectNotInPrerequisiteState, "no secrets key is configured")

	// The name is bound: a ciphertext moved onto another secret does not open.
	other := Ref{"public", "other"}
	if err := s.CreateSecret(ctx, k, other, "alice", []byte("other value")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `UPDATE sluice_catalog.secrets SET ciphertext = (SELECT ciphertext FROM sluice_catalog.secrets WHERE name = 'pgpw') WHERE name = 'other'`); err != nil {
		t.Fatal(err)
	}
	_, err = s.SecretValue(ctx, k, other)
	wantCode(t, err, pgerrcode.DataCorrupted, "does not decrypt")

	// ALTER: a new value, a new nonce.
	before := rawBytes(t, s, "(SELECT ciphertext FROM sluice_catalog.secrets WHERE name = 'pgpw')")
	if err := s.AlterSecret(ctx, k, ref, []byte(plain)); err != nil {
		t.Fatal(err)
	}
	if after := rawBytes(t, s, "(SELECT ciphertext FROM sluice_catalog.secrets WHERE name = 'pgpw')"); bytes.Equal(before, after) {
		t.Error("the same value sealed twice gave the same ciphertext: the nonce is not fresh")
	}
	wantCode(t, s.AlterSecret(ctx, k, Ref{"public", "nope"}, nil), pgerrcode.UndefinedObject, "does not exist")

	// A source's credentials: a plain value sealed, a reference to the
	// secret (its dependency), an environment variable.
	src := Source{ID: 41, Ref: Ref{"public", "orders"}, Connector: "postgres", Options: map[string]string{"dsn": "host=x", "password": "SECRET pgpw"},
		Credentials: []Credential{
			{Option: "password", Form: CredentialSecret, Secret: ref},
			PlainCredential(k, 41, "bearer_token", "tok-Plaintext-55e1"),
			{Option: "headers", Form: CredentialEnv, Ref: "HDRS"},
		}}
	missing := src
	missing.ID, missing.Ref = 42, Ref{"public", "broken"}
	missing.Credentials = []Credential{{Option: "password", Form: CredentialSecret, Secret: Ref{"public", "nope"}}}
	wantCode(t, s.CreateSource(ctx, missing, "SELECT 1"), pgerrcode.UndefinedObject, `secret "nope" does not exist`)
	if _, ok, _ := s.Lookup(ctx, missing.Ref); ok {
		t.Fatal("a failed CreateSource left its source behind")
	}
	if err := s.CreateSource(ctx, src, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	creds, err := s.Credentials(ctx, 41)
	if err != nil || len(creds) != 3 {
		t.Fatalf("Credentials = %+v, %v", creds, err)
	}
	byOption := map[string]Credential{}
	for _, c := range creds {
		byOption[c.Option] = c
	}
	if c := byOption["password"]; c.Form != CredentialSecret || c.Secret != ref {
		t.Errorf("password: %+v", c)
	}
	if c := byOption["headers"]; c.Form != CredentialEnv || c.Ref != "HDRS" || c.Value != nil {
		t.Errorf("headers: %+v", c)
	}
	if v, err := byOption["bearer_token"].Plain(k, 41); err != nil || v != "tok-Plaintext-55e1" {
		t.Errorf("bearer_token: %q, %v", v, err)
	}
	if _, err := byOption["bearer_token"].Plain(k, 40); pgerr.Code(err) != pgerrcode.DataCorrupted {
		t.Errorf("a credential opened for another source: %v", err)
	}
	if raw := rawBytes(t, s, "sluice_catalog.source_credentials"); bytes.Contains(raw, []byte("tok-Plaintext-55e1")) {
		t.Fatalf("sluice_catalog.source_credentials holds the plaintext: %q", raw)
	}
	// Without a key a plain credential is kept in the clear (documented).
	if c := PlainCredential(nil, 1, "password", "x"); string(c.Value) != "x" || c.KeyID != "" {
		t.Errorf("PlainCredential without a key: %+v", c)
	}

	// DROP SECRET while a source uses it: 2BP01, naming the source.
	err = s.DropSecret(ctx, ref)
	wantCode(t, err, pgerrcode.DependentObjectsStillExist, "cannot drop secret pgpw because other objects depend on it")
	if d := pgerr.As(err).Detail; d != "source orders depends on secret pgpw" {
		t.Errorf("detail %q", d)
	}
	if users, err := s.SecretUsers(ctx, ref); err != nil || len(users) != 1 || users[0] != src.Ref {
		t.Errorf("SecretUsers = %v, %v", users, err)
	}
	if ids, err := s.SecretSources(ctx, ref); err != nil || len(ids) != 1 || ids[0] != 41 {
		t.Errorf("SecretSources = %v, %v", ids, err)
	}
	if _, err := s.Drop(ctx, []Dependency{{Object: src.Ref, ObjectKind: KindSource}}); err != nil {
		t.Fatal(err)
	}
	if creds, _ := s.Credentials(ctx, 41); len(creds) != 0 {
		t.Errorf("a dropped source's credentials remain: %+v", creds)
	}
	if err := s.DropSecret(ctx, ref); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DropSecret(ctx, ref), pgerrcode.UndefinedObject, "does not exist")

	// Nothing on disk holds a plaintext either.
	if _, err := s.DB().ExecContext(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "cat.duckdb*"))
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{plain, "tok-Plaintext-55e1", "other value"} {
			if bytes.Contains(data, []byte(p)) {
				t.Errorf("%s holds the plaintext %q", f, p)
			}
		}
	}
}

func TestKeyringKeySize(t *testing.T) {
	if _, err := NewKeyring(make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Fatalf("a 16-byte key: %v", err)
	}
}
