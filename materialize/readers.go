package materialize

import (
	"os"
	"sync"
)

// Readers decides when a retired version's files can go. A version stays
// on disk while any statement or transaction that began before it was
// retired may still read it: each reader holds a ticket from the sequence,
// each retirement is stamped with the sequence at its commit, and a retired
// path is removed once every ticket at or below its stamp is returned.
type Readers struct {
	mu      sync.Mutex
	seq     uint64
	active  map[uint64]int // ticket -> count
	pending []retired
	remove  func(path string) error
}

type retired struct {
	path  string
	stamp uint64
}

// NewReaders returns a tracker that deletes retired paths with os.RemoveAll.
func NewReaders() *Readers {
	return &Readers{active: map[uint64]int{}, remove: os.RemoveAll}
}

// Enter registers a reader and returns its ticket for Leave.
func (r *Readers) Enter() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	r.active[r.seq]++
	return r.seq
}

// Leave returns a ticket and removes what no reader needs any more.
func (r *Readers) Leave(ticket uint64) {
	r.mu.Lock()
	if r.active[ticket]--; r.active[ticket] <= 0 {
		delete(r.active, ticket)
	}
	done := r.collectLocked()
	r.mu.Unlock()
	r.removeAll(done)
}

// Retire schedules paths for removal once current readers are gone. Call it
// after the commit that stopped referencing them.
func (r *Readers) Retire(paths ...string) {
	if len(paths) == 0 {
		return
	}
	r.mu.Lock()
	r.seq++
	for _, p := range paths {
		r.pending = append(r.pending, retired{path: p, stamp: r.seq})
	}
	done := r.collectLocked()
	r.mu.Unlock()
	r.removeAll(done)
}

func (r *Readers) collectLocked() []string {
	oldest := r.seq + 1
	for t := range r.active {
		oldest = min(oldest, t)
	}
	var done []string
	keep := r.pending[:0]
	for _, p := range r.pending {
		if p.stamp < oldest {
			done = append(done, p.path)
		} else {
			keep = append(keep, p)
		}
	}
	r.pending = keep
	return done
}

func (r *Readers) removeAll(paths []string) {
	for _, p := range paths {
		_ = r.remove(p)
	}
}
