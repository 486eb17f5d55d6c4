package s3

import (
	"container/list"
	"context"
	"sync"
)

// slots is a weighted FIFO semaphore: the transfers (range GETs, upload
// parts) in flight over the whole store.
type slots struct {
	mu      sync.Mutex
	size    int
	avail   int
	waiters list.List // of *slotWaiter
}

type slotWaiter struct {
	n     int
	ready chan struct{}
}

func newSlots(n int) *slots { return &slots{size: n, avail: n} }

// acquire takes n slots (at most all of them), waiting in line until they
// are free or ctx ends.
func (s *slots) acquire(ctx context.Context, n int) error {
	n = min(n, s.size)
	s.mu.Lock()
	if s.avail >= n && s.waiters.Len() == 0 {
		s.avail -= n
		s.mu.Unlock()
		return nil
	}
	w := &slotWaiter{n: n, ready: make(chan struct{})}
	el := s.waiters.PushBack(w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		select {
		case <-w.ready: // granted meanwhile: give them back
			s.avail += n
		default:
			s.waiters.Remove(el)
		}
		s.grantLocked()
		s.mu.Unlock()
		return ctx.Err()
	}
}

// release returns n slots taken by acquire(n).
func (s *slots) release(n int) {
	n = min(n, s.size)
	s.mu.Lock()
	s.avail += n
	s.grantLocked()
	s.mu.Unlock()
}

func (s *slots) grantLocked() {
	for el := s.waiters.Front(); el != nil; el = s.waiters.Front() {
		w := el.Value.(*slotWaiter)
		if s.avail < w.n {
			return
		}
		s.avail -= w.n
		s.waiters.Remove(el)
		close(w.ready)
	}
}
