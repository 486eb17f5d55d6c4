package sqlplan

import (
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

const encryptionKeyDoc = "encrypt the Parquet files with this key of the gateway's encryption_keys configuration (its name, never the key itself); docs/security.md"

// validateEncryptionKey checks an encryption_key option: the name of a key,
// a lower case identifier (whether the configuration has it is the
// executor's check). An empty value removes the option: ALTER ... SET
// (encryption_key) to the empty string stops encrypting from the next
// refresh.
func validateEncryptionKey(opts map[string]string) error {
	name, ok := opts["encryption_key"]
	if !ok {
		return nil
	}
	if name == "" {
		delete(opts, "encryption_key")
		return nil
	}
	if !ValidKeyName(name) {
		return pgerr.New(pgerrcode.InvalidParameterValue,
			"invalid value for option \"encryption_key\": %q is not a key name (a lower case identifier of the gateway's encryption_keys configuration)", name)
	}
	return nil
}

// ValidKeyName reports whether name can name an encryption key: a lower
// case identifier of at most 63 bytes (it is written into view definitions
// and the catalog as it is, inside quotes).
func ValidKeyName(name string) bool {
	if name == "" || len(name) > 63 || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// CheckEncryptable refuses (0A000) output columns that encrypted Parquet
// cannot hold here: DuckDB 1.5.6 reads encrypted files of flat columns
// only, and fails the AES-GCM check on every nested column (LIST, ARRAY,
// STRUCT, MAP, UNION, VARIANT) of a file written to the specification.
func CheckEncryptable(cols []Column) error {
	for _, c := range cols {
		if nestedType(c.Type) {
			return pgerr.Unsupported("column %q has type %s: encrypted output cannot hold nested types yet (DuckDB 1.5.6 cannot read them back); cast it, e.g. to JSON or VARCHAR", c.Name, c.Type)
		}
	}
	return nil
}

func nestedType(t string) bool {
	u := strings.ToUpper(strings.TrimSpace(t))
	for _, p := range []string{"STRUCT", "MAP", "UNION", "VARIANT"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return strings.HasSuffix(u, "]")
}

// encryptionConfig is read_parquet's option for files encrypted with the
// key named key, with its leading comma; "" when key is "".
func encryptionConfig(key string) string {
	if key == "" {
		return ""
	}
	return ", encryption_config = {footer_key: " + quote(key) + "}"
}
