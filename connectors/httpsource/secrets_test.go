package httpsource

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestBearerToken: the bearer_token option authenticates every request,
// and neither its errors nor its log lines show it.
func TestBearerToken(t *testing.T) {
	const token = "tok-S3cret-81c2"
	s := newServer(t, "Bearer "+token)
	s.put("/a.json", doc{body: ndjson(0, 3), etag: `"x"`})
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	open := func(path string, opts map[string]string) error {
		cfg := config(s.URL+path, opts)
		cfg.Logger = logger
		src, err := Connector{}.Open(context.Background(), cfg)
		if err == nil {
			if n := rows(readAll(t, src, "", "")); n != 3 {
				t.Errorf("%d rows", n)
			}
			src.Close()
		}
		return err
	}

	if err := open("/a.json", map[string]string{"bearer_token": token, "headers": `{"X-Trace": "1"}`}); err != nil {
		t.Fatal(err)
	}
	err := open("/a.json", map[string]string{"bearer_token": "wrong-" + token})
	wantCode(t, err, "28000")
	s.handle("/fail.json", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "echo: "+r.Header.Get("Authorization"), http.StatusInternalServerError)
	})
	wantCode(t, open("/fail.json", map[string]string{"bearer_token": token, "retries": "1"}), "58030")
	for _, opts := range []map[string]string{
		{"bearer_token": token, "headers": `{"authorization": "Bearer x"}`},
		{"bearer_token": token + "\n"},
		{"bearer_token": ""},
	} {
		err := open("/a.json", opts)
		wantCode(t, err, "22023")
		if strings.Contains(err.Error(), token) {
			t.Errorf("the error shows the token: %v", err)
		}
	}
	if strings.Contains(logs.String(), token) {
		t.Fatalf("the log shows the token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("no retry was logged:\n%s", logs.String())
	}
}

func TestDisplayHeaders(t *testing.T) {
	for in, want := range map[string]string{
		`{"Authorization": "Bearer x", "X-Api-Key": "k"}`: `{"Authorization": "********", "X-Api-Key": "********"}`,
		`{}`:            `{}`,
		`{"A": "x"`:     `********`,
		`{"A": ["x"]}`:  `********`,
		`not json`:      `********`,
		`{"A\"b": "x"}`: `{"A\"b": "********"}`,
	} {
		if got := DisplayHeaders(in); got != want {
			t.Errorf("DisplayHeaders(%s) = %s, want %s", in, got, want)
		}
	}
}
