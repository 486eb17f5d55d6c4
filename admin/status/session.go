package status

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// Sessions live on the server: the cookie holds only a random token, whose
// SHA-256 keys the store, so the token itself is never kept and a lookup's
// timing says nothing about a guess.

// tokenBytes is the entropy of session and CSRF tokens.
const tokenBytes = 32

// newToken returns tokenBytes random bytes, base64url without padding.
func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// equalTokens compares a token a client sent with the expected one in
// constant time; an empty expected token matches nothing.
func equalTokens(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// session is a logged-in role.
type session struct {
	user    string
	csrf    string // the token every POST of the session carries
	created time.Time
	seen    time.Time
	flash   *notice // shown once by the next page
}

// sessionStore holds the sessions in memory: a restart logs everyone out.
type sessionStore struct {
	mu   sync.Mutex
	m    map[[sha256.Size]byte]*session
	idle time.Duration // a session unused this long ends
	max  time.Duration // a session ends this long after login whatever its use
	cap  int           // most sessions held; the oldest goes first
	now  func() time.Time
}

func newSessionStore(idle, max time.Duration, capacity int, now func() time.Time) *sessionStore {
	return &sessionStore{m: map[[sha256.Size]byte]*session{}, idle: idle, max: max, cap: capacity, now: now}
}

// create starts a session for user and returns its cookie token.
func (s *sessionStore) create(user string) (string, *session, error) {
	token, err := newToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := newToken()
	if err != nil {
		return "", nil, err
	}
	now := s.now()
	sess := &session{user: user, csrf: csrf, created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purge(now)
	for len(s.m) >= s.cap {
		s.evictOldest()
	}
	s.m[sha256.Sum256([]byte(token))] = sess
	return token, sess, nil
}

// get returns the live session of token and marks it used.
func (s *sessionStore) get(token string) (*session, bool) {
	if token == "" {
		return nil, false
	}
	key := sha256.Sum256([]byte(token))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[key]
	if !ok {
		return nil, false
	}
	if s.expired(sess, now) {
		delete(s.m, key)
		return nil, false
	}
	sess.seen = now
	return sess, true
}

// takeFlash returns the session's notice and clears it.
func (s *sessionStore) takeFlash(sess *session) *notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := sess.flash
	sess.flash = nil
	return n
}

func (s *sessionStore) setFlash(sess *session, n *notice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.flash = n
}

// delete ends the session of token.
func (s *sessionStore) delete(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(token)))
}

func (s *sessionStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *sessionStore) expired(sess *session, now time.Time) bool {
	return now.Sub(sess.seen) >= s.idle || now.Sub(sess.created) >= s.max
}

func (s *sessionStore) purge(now time.Time) {
	for k, sess := range s.m {
		if s.expired(sess, now) {
			delete(s.m, k)
		}
	}
}

func (s *sessionStore) evictOldest() {
	var oldest [sha256.Size]byte
	var at time.Time
	first := true
	for k, sess := range s.m {
		if first || sess.seen.Before(at) {
			oldest, at, first = k, sess.seen, false
		}
	}
	delete(s.m, oldest)
}

// limiter is a token bucket per remote address: each failed login takes a
// token, tokens come back at rate per second up to burst, and an address
// without a token may not try.
type limiter struct {
	mu    sync.Mutex
	m     map[string]*bucket
	rate  float64
	burst float64
	cap   int // most addresses tracked
	now   func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
	failed time.Time // the last failure
}

func newLimiter(perMinute, burst, capacity int, now func() time.Time) *limiter {
	return &limiter{m: map[string]*bucket{}, rate: float64(perMinute) / 60, burst: float64(burst), cap: capacity, now: now}
}

// refill brings b up to date; the caller holds l.mu.
func (l *limiter) refill(b *bucket, now time.Time) {
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
}

// allow reports whether addr may try to log in, and if not, how long until
// it may.
func (l *limiter) allow(addr string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[addr]
	if !ok {
		return true, 0
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait.Round(time.Second) + time.Second
}

// fail takes a token from addr's bucket.
func (l *limiter) fail(addr string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[addr]
	if !ok {
		if len(l.m) >= l.cap {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.m[addr] = b
	}
	l.refill(b, now)
	b.tokens = max(0, b.tokens-1)
	b.failed = now
}

// prune forgets the addresses whose bucket is full again (they are as if
// never seen), and if that is not enough, the one that failed longest ago.
func (l *limiter) prune(now time.Time) {
	var oldest string
	var at time.Time
	for k, b := range l.m {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.m, k)
			continue
		}
		if oldest == "" || b.failed.Before(at) {
			oldest, at = k, b.failed
		}
	}
	if len(l.m) >= l.cap && oldest != "" {
		delete(l.m, oldest)
	}
}
