package status

import (
	"encoding/base64"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestTokens(t *testing.T) {
	a, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newToken()
	raw, err := base64.RawURLEncoding.DecodeString(a)
	if err != nil || len(raw) != tokenBytes {
		t.Fatalf("token %q: %d bytes, %v", a, len(raw), err)
	}
	if a == b {
		t.Fatal("two tokens are equal")
	}
	if !equalTokens(a, a) || equalTokens(a, b) || equalTokens("", "") || equalTokens(a, "") || equalTokens(a[:10], a) {
		t.Fatal("equalTokens")
	}
}

// Sessions end after their idle time or their lifetime, whichever comes
// first; a deleted session is gone; the store holds at most its capacity,
// dropping the least recently used.
func TestSessionStore(t *testing.T) {
	c := &clock{t: time.Date(2024, 11, 14, 12, 0, 0, 0, time.UTC)}
	s := newSessionStore(10*time.Minute, time.Hour, 3, c.now)
	tok, sess, err := s.create("alice")
	if err != nil {
		t.Fatal(err)
	}
	if sess.csrf == "" || sess.csrf == tok {
		t.Fatalf("csrf token %q", sess.csrf)
	}
	if got, ok := s.get(tok); !ok || got.user != "alice" {
		t.Fatal("a new session is not found")
	}
	if _, ok := s.get(tok + "x"); ok {
		t.Fatal("another token finds the session")
	}
	if _, ok := s.get(""); ok {
		t.Fatal("the empty token finds a session")
	}
	// Used every 9 minutes it lives until its lifetime ends.
	for range 6 {
		c.advance(9 * time.Minute)
		if _, ok := s.get(tok); !ok {
			t.Fatalf("ended while in use at %v", c.t)
		}
	}
	c.advance(7 * time.Minute) // 61 minutes after login
	if _, ok := s.get(tok); ok {
		t.Fatal("outlived its lifetime")
	}
	tok, _, _ = s.create("bob")
	c.advance(10 * time.Minute)
	if _, ok := s.get(tok); ok {
		t.Fatal("outlived its idle time")
	}
	tok, _, _ = s.create("carol")
	s.delete(tok)
	if _, ok := s.get(tok); ok {
		t.Fatal("a deleted session is found")
	}

	var toks []string
	for _, u := range []string{"u1", "u2", "u3"} {
		tk, _, _ := s.create(u)
		toks = append(toks, tk)
		c.advance(time.Second)
	}
	s.get(toks[0]) // u1 is used: u2 is now the least recently used
	c.advance(time.Second)
	s.create("u4")
	if s.len() != 3 {
		t.Fatalf("%d sessions, capacity 3", s.len())
	}
	if _, ok := s.get(toks[1]); ok {
		t.Fatal("the least recently used session was kept")
	}
	if _, ok := s.get(toks[0]); !ok {
		t.Fatal("a recently used session was dropped")
	}

	n := &notice{Text: "done"}
	_, sess, _ = s.create("dave")
	s.setFlash(sess, n)
	if s.takeFlash(sess) != n || s.takeFlash(sess) != nil {
		t.Fatal("a flash is shown once")
	}
}

// Failed logins drain an address's bucket; refused while empty, it fills
// again with time; other addresses are not affected; the table is bounded.
func TestLimiter(t *testing.T) {
	c := &clock{t: time.Date(2024, 11, 14, 12, 0, 0, 0, time.UTC)}
	l := newLimiter(6, 3, 2, c.now) // one token every 10 s, burst 3
	for i := range 3 {
		if ok, _ := l.allow("10.0.0.1"); !ok {
			t.Fatalf("refused before failure %d", i+1)
		}
		l.fail("10.0.0.1")
	}
	ok, wait := l.allow("10.0.0.1")
	if ok || wait < 9*time.Second || wait > 12*time.Second {
		t.Fatalf("after the burst: %v, wait %v", ok, wait)
	}
	if ok, _ := l.allow("10.0.0.2"); !ok {
		t.Fatal("another address is refused")
	}
	c.advance(10 * time.Second)
	if ok, _ := l.allow("10.0.0.1"); !ok {
		t.Fatal("refused after a token came back")
	}
	l.fail("10.0.0.1")
	if ok, _ := l.allow("10.0.0.1"); ok {
		t.Fatal("one token spent, none left")
	}
	// Capacity 2: a third address pushes out a full bucket, or else the
	// address that failed longest ago.
	l.fail("10.0.0.2")
	c.advance(time.Second)
	l.fail("10.0.0.3")
	if len(l.m) > 2 {
		t.Fatalf("%d addresses tracked, capacity 2", len(l.m))
	}
	if _, ok := l.m["10.0.0.3"]; !ok {
		t.Fatal("the newest address is not tracked")
	}
}
