package connectors

// Credential options: a declared option with Secret set (a password, a
// token, a connection string that may hold a password) may be given in one
// of four forms, exactly one per option:
//
//	x = 'value'          the value itself (stored apart, shown as ******** or Redact's mask)
//	x = SECRET name      a secret made with CREATE SECRET (shown as SECRET name)
//	x_env = 'VARIABLE'   the gateway's environment variable (shown as env:VARIABLE)
//	x_file = '/path'     a file on the gateway's host, absolute path (shown as file:/path)
//
// References are resolved by the gateway each time the source is opened
// (CREATE SOURCE, and after a restart); a connector's Open only ever sees
// plain values, in memory.

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

// Form is how a credential option is given.
type Form string

const (
	FormPlain  Form = "plain"  // x = 'value'
	FormSecret Form = "secret" // x = SECRET name
	FormEnv    Form = "env"    // x_env = 'VARIABLE'
	FormFile   Form = "file"   // x_file = '/path'
)

// Masked is how a credential given in clear is shown.
const Masked = "********"

// maxCredentialFile bounds a credential file.
const maxCredentialFile = 64 << 10

// gatewayEnvPrefix starts the environment variables of the gateway's own
// configuration (SLUICE_OBJECT_STORAGE_SECRET_KEY, ...), which no source
// may read.
const gatewayEnvPrefix = "SLUICE_"

// Spec returns the declaration of option name.
func (specs Specs) Spec(name string) (OptionSpec, bool) { return specs.lookup(name) }

// CredentialKey tells whether key gives a credential option: the option
// itself (FormPlain; FormSecret when its value is a secret reference) or
// its _env or _file key. A declared option is always itself, even if its
// name ends in _env or _file.
func (specs Specs) CredentialKey(key string) (option string, form Form, ok bool) {
	if s, ok := specs.lookup(key); ok {
		return key, FormPlain, s.Secret
	}
	for _, f := range []Form{FormEnv, FormFile} {
		if base, cut := strings.CutSuffix(key, "_"+string(f)); cut {
			if s, ok := specs.lookup(base); ok && s.Secret {
				return base, f, true
			}
		}
	}
	return "", "", false
}

// Credentials names the credential options, in declaration order.
func (specs Specs) Credentials() []string {
	var out []string
	for _, s := range specs {
		if s.Secret {
			out = append(out, s.Name)
		}
	}
	return out
}

// Display is a credential as the catalog shows it (sluice.sources.options,
// SHOW SOURCES): ref is the secret's name, the variable or the path; value
// is the value of a FormPlain credential. It never holds a secret.
func (s OptionSpec) Display(form Form, ref, value string) string {
	switch form {
	case FormSecret:
		return "SECRET " + ref
	case FormEnv:
		return "env:" + ref
	case FormFile:
		return "file:" + ref
	}
	if s.Redact != nil {
		return s.Redact(value)
	}
	return Masked
}

// EnvCredential reads a credential from the gateway's environment variable
// name, given as key (option_env). Errors name the variable, never a value.
func EnvCredential(key, name string) (string, error) {
	if !envName(name) {
		return "", pgerr.InvalidParameter("invalid value for option %q: %q is not an environment variable name (letters, digits and _, not starting with a digit)", key, name)
	}
	if strings.HasPrefix(name, gatewayEnvPrefix) {
		return "", pgerr.New(pgerrcode.InsufficientPrivilege, "invalid value for option %q: environment variable %q belongs to the gateway's own configuration; a source cannot read it", key, name)
	}
	v, ok := os.LookupEnv(name)
	switch {
	case !ok:
		return "", pgerr.InvalidParameter("invalid value for option %q: environment variable %q is not set in the gateway's environment", key, name)
	case v == "":
		return "", pgerr.InvalidParameter("invalid value for option %q: environment variable %q is empty", key, name)
	}
	return v, nil
}

func envName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// FileCredential reads a credential from the file at path, given as key
// (option_file): an absolute path to a regular file of at most 64 KiB,
// not under /proc, /sys or /dev, and none of the protected files (the
// gateway's own keys), symbolic links followed. Trailing line breaks are
// removed (echo adds one). Errors name the file, never its contents.
func FileCredential(key, path string, protected []string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", pgerr.InvalidParameter("invalid value for option %q: %q is not an absolute path", key, path)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fileError(key, path, err)
	}
	for _, dir := range []string{"/proc", "/sys", "/dev"} {
		if real == dir || strings.HasPrefix(real, dir+"/") {
			return "", pgerr.InvalidParameter("invalid value for option %q: %q is not a file a credential can be read from (%s)", key, path, dir)
		}
	}
	f, err := os.Open(real)
	if err != nil {
		return "", fileError(key, path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fileError(key, path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", pgerr.InvalidParameter("invalid value for option %q: %q is not a regular file", key, path)
	}
	for _, p := range protected {
		if pi, err := os.Stat(p); err == nil && os.SameFile(fi, pi) {
			return "", pgerr.New(pgerrcode.InsufficientPrivilege, "invalid value for option %q: %q is one of the gateway's own secret files; a source cannot read it", key, path)
		}
	}
	if fi.Size() > maxCredentialFile {
		return "", pgerr.InvalidParameter("invalid value for option %q: %q is larger than %d bytes", key, path, maxCredentialFile)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxCredentialFile+1))
	if err != nil {
		return "", fileError(key, path, err)
	}
	if len(data) > maxCredentialFile {
		return "", pgerr.InvalidParameter("invalid value for option %q: %q is larger than %d bytes", key, path, maxCredentialFile)
	}
	v := strings.TrimRight(string(data), "\r\n")
	if v == "" {
		return "", pgerr.InvalidParameter("invalid value for option %q: %q is empty", key, path)
	}
	return v, nil
}

// fileError reports a file that cannot be read: 58P01 when it does not
// exist, 58030 otherwise, with the system's reason only.
func fileError(key, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	code := pgerrcode.IOError
	if errors.Is(err, fs.ErrNotExist) {
		code = pgerrcode.UndefinedFile
	}
	return pgerr.New(code, "option %q: cannot read %q: %v", key, path, err)
}
