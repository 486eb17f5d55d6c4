package connectors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgerrcode"

	"github.com/sluice-db/sluice/internal/pgerr"
)

var testSpecs = Specs{
	{Name: "dsn", Type: String, Secret: true, Redact: func(string) string { return "host=h password=" + Masked }},
	{Name: "password", Type: String, Secret: true},
	{Name: "table", Type: String},
	{Name: "lock_file", Type: String}, // declared: itself, not lock's _file form
}

func TestCredentialKey(t *testing.T) {
	tests := []struct {
		key, option string
		form        Form
		ok          bool
	}{
		{"password", "password", FormPlain, true},
		{"password_env", "password", FormEnv, true},
		{"password_file", "password", FormFile, true},
		{"dsn_env", "dsn", FormEnv, true},
		{"table", "table", FormPlain, false},
		{"table_env", "", "", false},
		{"lock_file", "lock_file", FormPlain, false},
		{"nope_env", "", "", false},
		{"_env", "", "", false},
	}
	for _, tt := range tests {
		option, form, ok := testSpecs.CredentialKey(tt.key)
		if option != tt.option || form != tt.form || ok != tt.ok {
			t.Errorf("CredentialKey(%q) = %q, %q, %v; want %q, %q, %v", tt.key, option, form, ok, tt.option, tt.form, tt.ok)
		}
	}
	if got := strings.Join(testSpecs.Credentials(), ","); got != "dsn,password" {
		t.Errorf("Credentials = %s", got)
	}
}

func TestDisplay(t *testing.T) {
	pw, _ := testSpecs.Spec("password")
	dsn, _ := testSpecs.Spec("dsn")
	for _, tt := range []struct{ got, want string }{
		{pw.Display(FormPlain, "", "hunter2"), "********"},
		{pw.Display(FormSecret, "ops.pgpw", ""), "SECRET ops.pgpw"},
		{pw.Display(FormEnv, "PGPW", ""), "env:PGPW"},
		{pw.Display(FormFile, "/run/secrets/pw", ""), "file:/run/secrets/pw"},
		{dsn.Display(FormPlain, "", "host=h password=hunter2"), "host=h password=********"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if md := testSpecs.Markdown(); !strings.Contains(md, "| `password` | credential |") {
		t.Errorf("Markdown does not mark credentials:\n%s", md)
	}
}

func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	if err == nil || pgerr.Code(err) != code || !strings.Contains(err.Error(), msg) {
		t.Fatalf("got %v (%s), want %s %q", err, pgerr.Code(err), code, msg)
	}
}

func TestEnvCredential(t *testing.T) {
	t.Setenv("SLUICE_TEST_PW", "v")
	t.Setenv("CRED_TEST_PW", "value-1")
	t.Setenv("CRED_TEST_EMPTY", "")
	if v, err := EnvCredential("password_env", "CRED_TEST_PW"); err != nil || v != "value-1" {
		t.Fatalf("got %q, %v", v, err)
	}
	_, err := EnvCredential("password_env", "CRED_TEST_UNSET")
	wantErr(t, err, pgerrcode.InvalidParameterValue, `environment variable "CRED_TEST_UNSET" is not set`)
	_, err = EnvCredential("password_env", "CRED_TEST_EMPTY")
	wantErr(t, err, pgerrcode.InvalidParameterValue, "is empty")
	_, err = EnvCredential("password_env", "1BAD-NAME")
	wantErr(t, err, pgerrcode.InvalidParameterValue, "is not an environment variable name")
	_, err = EnvCredential("password_env", "SLUICE_TEST_PW")
	wantErr(t, err, pgerrcode.InsufficientPrivilege, "gateway's own configuration")
}

func TestFileCredential(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pw := write("pw", "s3cr3t value\r\n\n")
	if v, err := FileCredential("password_file", pw, nil); err != nil || v != "s3cr3t value" {
		t.Fatalf("got %q, %v", v, err)
	}
	key := write("key", "the gateway's key")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(key, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, code, msg string
	}{
		{"rel/pw", pgerrcode.InvalidParameterValue, "is not an absolute path"},
		{filepath.Join(dir, "missing"), pgerrcode.UndefinedFile, "no such file or directory"},
		{dir, pgerrcode.InvalidParameterValue, "is not a regular file"},
		{"/proc/self/environ", pgerrcode.InvalidParameterValue, "is not a file a credential can be read from"},
		{"/dev/stdin", pgerrcode.InvalidParameterValue, "is not a file a credential can be read from"},
		{key, pgerrcode.InsufficientPrivilege, "one of the gateway's own secret files"},
		{link, pgerrcode.InsufficientPrivilege, "one of the gateway's own secret files"},
		{write("empty", "\n"), pgerrcode.InvalidParameterValue, "is empty"},
		{write("big", strings.Repeat("x", maxCredentialFile+1)), pgerrcode.InvalidParameterValue, "is larger than"},
	}
	for _, tt := range tests {
		_, err := FileCredential("password_file", tt.path, []string{key})
		wantErr(t, err, tt.code, tt.msg)
		if strings.Contains(err.Error(), "gateway's key") {
			t.Errorf("the error shows the file's contents: %v", err)
		}
	}
}
