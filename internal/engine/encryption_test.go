//go:build duckdb_arrow

package engine

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// TestEncryptionKeysRegistered: the configured keys reach DuckDB once, after
// the other settings, and every connection sees them.
func TestEncryptionKeysRegistered(t *testing.T) {
	ctx := context.Background()
	key := []byte("0123456789abcdef0123456789abcdef")
	db, err := Open(ctx, Config{MemoryLimit: "1GB", Threads: 2, TempDir: t.TempDir(), EncryptionKeys: map[string][]byte{"k1": key}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plain := filepath.Join(t.TempDir(), "plain.parquet")
	c1, err := db.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	if _, err := c1.Exec(ctx, "COPY (SELECT 1 AS x) TO '"+plain+"' (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
	// A connection opened after the registration, and database/sql's pool.
	c2, err := db.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	// The key is known: DuckDB gets as far as the file, which is plaintext.
	_, err = c2.Exec(ctx, "SELECT * FROM read_parquet('"+plain+"', encryption_config = {footer_key: 'k1'})")
	if err == nil || !strings.Contains(err.Error(), "is not encrypted") {
		t.Fatalf("second connection: %v, want DuckDB to know key k1", err)
	}
	// An unknown key name is 42704 without DuckDB's advice to run a pragma.
	_, err = c2.Exec(ctx, "SELECT * FROM read_parquet('"+plain+"', encryption_config = {footer_key: 'nope'})")
	if pe := pgerr.As(err); pe.Code != pgerrcode.UndefinedObject || pe.Message != `encryption key "nope" is not configured` {
		t.Fatalf("unknown key: %s %q", pe.Code, pe.Message)
	}
}

func TestEncryptionKeysBadConfig(t *testing.T) {
	ctx := context.Background()
	key16 := []byte("0123456789abcdef")
	for _, keys := range []map[string][]byte{
		{"k": key16},                   // 128-bit: refused, see EncryptionKeySize
		{"Bad-Name": make([]byte, 32)}, // not an identifier
		{"k": make([]byte, 33)},        // wrong size
	} {
		_, err := Open(ctx, Config{EncryptionKeys: keys})
		if pgerr.Code(err) != pgerrcode.InvalidParameterValue {
			t.Errorf("%d-key config: %v, want 22023", len(keys), err)
		}
		for _, k := range keys {
			if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(k)) || strings.Contains(err.Error(), string(k)) && len(k) > 0 && k[0] != 0 {
				t.Errorf("the error shows the key: %v", err)
			}
		}
	}
}
