package wire

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
)

// secretLen is the length of the BackendKeyData secret in protocol 3.0.
const secretLen = 4

// registerKey gives c a process id unique among the server's live
// connections and a random secret, and makes c reachable by CancelRequest.
func (s *Server) registerKey(c *conn) error {
	var secret [secretLen]byte
	for {
		if _, err := rand.Read(secret[:]); err != nil {
			return err
		}
		if secret != [secretLen]byte{} {
			break
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		pid := s.nextPID.Add(1)
		if _, taken := s.keys[pid]; pid == 0 || taken {
			continue
		}
		c.pid, c.secret = pid, secret[:]
		s.keys[pid] = c
		return nil
	}
}

// unregisterKey makes c unreachable by CancelRequest.
func (s *Server) unregisterKey(c *conn) {
	if c.pid == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[c.pid] == c {
		delete(s.keys, c.pid)
	}
}

// cancelRequest handles the body of a CancelRequest packet (after the request
// code): if the process id and secret match a live connection, the query it
// is running is cancelled. A wrong secret cancels nothing. There is no reply.
func (s *Server) cancelRequest(body []byte) {
	if len(body) < 4+secretLen {
		s.log.Debug("cancel request too short")
		return
	}
	pid := binary.BigEndian.Uint32(body)
	secret := body[4:]

	s.mu.Lock()
	c := s.keys[pid]
	s.mu.Unlock()
	if c == nil || subtle.ConstantTimeCompare(c.secret, secret) != 1 {
		s.log.Debug("cancel request matches no session", "pid", pid)
		return
	}
	c.cancelQuery()
	s.log.Debug("query cancel requested", "pid", pid)
}
