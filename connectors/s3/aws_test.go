package s3

import (
	"os"
	"path/filepath"
	"testing"
)

// envMap is a getenv over m.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	os.WriteFile(config, []byte("[default]\nregion = eu-west-1\n\n[profile lake]\nregion = eu-central-1\nendpoint_url = http://127.0.0.1:9000\n"), 0o600)
	os.WriteFile(creds, []byte("[lake]\naws_access_key_id = AKIALAKE\naws_secret_access_key = lakesecret\n"), 0o600)
	none := filepath.Join(dir, "absent")
	tests := []struct {
		name          string
		cfg           Config
		env           map[string]string
		endpoint, reg string
		ok            bool
	}{
		{"nothing configured", Config{}, map[string]string{"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none}, "", "", false},
		{"configured keys win", Config{Endpoint: "minio:9000", Region: "r1"},
			map[string]string{"AWS_ENDPOINT_URL": "http://other:1", "AWS_REGION": "r2"}, "minio:9000", "r1", true},
		{"service endpoint over the general one", Config{},
			map[string]string{"AWS_ENDPOINT_URL_S3": "http://s3only:1", "AWS_ENDPOINT_URL": "http://general:1", "AWS_CONFIG_FILE": none}, "http://s3only:1", "", true},
		{"AWS_REGION over AWS_DEFAULT_REGION", Config{},
			map[string]string{"AWS_ENDPOINT_URL": "http://general:1", "AWS_REGION": "r2", "AWS_DEFAULT_REGION": "r3", "AWS_CONFIG_FILE": none}, "http://general:1", "r2", true},
		{"keys alone mean AWS", Config{},
			map[string]string{"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_CONFIG_FILE": none}, "https://s3.us-east-1.amazonaws.com", "us-east-1", true},
		{"region alone means AWS", Config{},
			map[string]string{"AWS_DEFAULT_REGION": "ap-south-1", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none}, "https://s3.ap-south-1.amazonaws.com", "ap-south-1", true},
		{"China's partition", Config{},
			map[string]string{"AWS_REGION": "cn-north-1", "AWS_CONFIG_FILE": none}, "https://s3.cn-north-1.amazonaws.com.cn", "cn-north-1", true},
		{"default profile's region", Config{},
			map[string]string{"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": none}, "https://s3.eu-west-1.amazonaws.com", "eu-west-1", true},
		{"named profile's endpoint and region", Config{},
			map[string]string{"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_PROFILE": "lake"}, "http://127.0.0.1:9000", "eu-central-1", true},
		{"a credentials file that does not exist yet", Config{},
			map[string]string{"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials-default")}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.cfg.FromEnvironment(envMap(tt.env))
			if ok != tt.ok || got.Endpoint != tt.endpoint || got.Region != tt.reg {
				t.Fatalf("got endpoint %q region %q ok %v, want %q %q %v", got.Endpoint, got.Region, ok, tt.endpoint, tt.reg, tt.ok)
			}
			if ok {
				got.CacheDir = "cache"
				if err := got.Validate(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	// A profile in the default credentials file, with no variable set.
	os.WriteFile(filepath.Join(dir, "credentials-default"), []byte("[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = defsecret\n"), 0o600)
	got, ok := Config{}.FromEnvironment(envMap(map[string]string{"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials-default")}))
	if !ok || got.Endpoint != "https://s3.us-east-1.amazonaws.com" {
		t.Fatalf("credentials file alone: %q %v", got.Endpoint, ok)
	}
}

func TestCredentialChain(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIADEF\naws_secret_access_key = defsecret\n\n[lake]\naws_access_key_id = AKIALAKE\naws_secret_access_key = lakesecret\naws_session_token = laketoken\n"), 0o600)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	get := func(c Config) (string, string, string) {
		t.Helper()
		cr, _ := c.credentialsFor(os.Getenv)
		v, err := cr.Get()
		if err != nil {
			t.Fatal(err)
		}
		return v.AccessKeyID, v.SecretAccessKey, v.SessionToken
	}
	if id, secret, _ := get(Config{AccessKey: "AKIACONF", SecretKey: "conf"}); id != "AKIACONF" || secret != "conf" {
		t.Fatalf("configured keys: %s", id)
	}
	if id, _, _ := get(Config{}); id != "AKIADEF" {
		t.Fatalf("default profile of the shared file: %q", id)
	}
	t.Setenv("AWS_PROFILE", "lake")
	if id, secret, token := get(Config{}); id != "AKIALAKE" || secret != "lakesecret" || token != "laketoken" {
		t.Fatalf("AWS_PROFILE=lake: %q %q %q", id, secret, token)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
	t.Setenv("AWS_SESSION_TOKEN", "envtoken")
	if id, secret, token := get(Config{}); id != "AKIAENV" || secret != "envsecret" || token != "envtoken" {
		t.Fatalf("environment over the file: %q %q %q", id, secret, token)
	}
	os.Unsetenv("AWS_ACCESS_KEY_ID")
	os.Unsetenv("AWS_SECRET_ACCESS_KEY")
	os.Unsetenv("AWS_SESSION_TOKEN")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "absent"))
	cr, _ := Config{}.credentialsFor(os.Getenv)
	v, err := cr.Get()
	if err != nil || v.AccessKeyID != "" || v.SignerType.String() != "Anonymous" {
		t.Fatalf("no credentials anywhere: %+v %v, want anonymous", v, err)
	}
}
