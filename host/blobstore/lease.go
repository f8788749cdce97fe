package blobstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Lease is a lock with an expiry, kept in a store that has no lock of
// its own: a run holds it while it works, renews it well before it
// expires, and releases it at the end; a run that crashed holds it only
// until it expires.
//
// A lease named NAME is a sequence of objects NAME/00000000000000000001,
// NAME/00000000000000000002, …, each written once with Create (create
// only), each saying who holds the lease and until when. The object with
// the highest number is the lease's current state. To acquire, a run reads
// it; if it is released, expired or its own, the run creates the next
// number, and then lists again: it holds the lease only if its object is
// still the highest. Of two runs creating the same number, the store lets
// one succeed; a run that created a lower number than another (possible
// only after old objects were cleaned up) sees the higher one and backs
// off. Renewing creates the next number too and then lists again, as
// acquiring does, so a run whose lease expired and was taken over learns
// it on its next renewal (ErrLeaseLost), even when the new holder's
// cleanup deleted the number it creates.
//
// Expiry compares the writer's clock with the reader's: the machines'
// clocks must agree to well within the lease's TTL.
type Lease struct {
	s      *Store
	name   string
	holder string
	ttl    time.Duration
	now    func() time.Time

	mu  sync.Mutex
	seq uint64
}

// LeaseOptions configure AcquireLease.
type LeaseOptions struct {
	// TTL is how long the lease holds without a renewal; default 2 minutes.
	TTL time.Duration
	// Holder names the holder in the lease and in HeldError; default
	// "host:pid:random".
	Holder string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// leaseRecord is one object of a lease.
type leaseRecord struct {
	Holder   string    `json:"holder"`
	Expires  time.Time `json:"expires"`
	Released bool      `json:"released,omitempty"`
}

// HeldError says another holder has the lease.
type HeldError struct {
	Name    string
	Holder  string
	Expires time.Time
}

// Error describes the holder.
func (e *HeldError) Error() string {
	return fmt.Sprintf("lease %s is held by %s until %s", e.Name, e.Holder, e.Expires.UTC().Format(time.RFC3339))
}

// ErrLeaseLost is returned by Renew when the lease expired and another
// holder took it.
var ErrLeaseLost = errors.New("lease lost: it expired and another holder took it")

// AcquireLease takes the lease name (a key prefix: "locks/acme") or
// returns a *HeldError when another holder has it and it has not expired.
func (s *Store) AcquireLease(ctx context.Context, name string, opts LeaseOptions) (*Lease, error) {
	if err := checkKey(name); err != nil {
		return nil, err
	}
	if opts.TTL <= 0 {
		opts.TTL = 2 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Holder == "" {
		opts.Holder = defaultHolder()
	}
	l := &Lease{s: s, name: name, holder: opts.Holder, ttl: opts.TTL, now: opts.Now}
	for attempt := 0; ; attempt++ {
		latest, rec, err := l.latest(ctx)
		if err != nil {
			return nil, err
		}
		if latest > 0 && !rec.Released && rec.Holder != l.holder && rec.Expires.After(l.now()) {
			return nil, &HeldError{Name: name, Holder: rec.Holder, Expires: rec.Expires}
		}
		if attempt >= 5 {
			return nil, fmt.Errorf("lease %s: gave up after %d races with other holders", name, attempt)
		}
		err = l.write(ctx, latest+1, false)
		if errors.Is(err, ErrExist) {
			continue // another holder wrote that number first: look again
		}
		if err != nil {
			return nil, err
		}
		top, _, err := l.latest(ctx)
		if err != nil {
			// We may hold it but cannot tell: give it up rather than leave
			// it held until it expires.
			l.seq = latest + 1
			_ = l.Release(ctx)
			return nil, err
		}
		if top != latest+1 {
			continue // a higher number exists: whoever wrote it decides
		}
		l.seq = latest + 1
		l.cleanup(ctx)
		return l, nil
	}
}

// Renew extends the lease by its TTL from now. It returns ErrLeaseLost
// when another holder took the lease after it expired; the caller must
// then stop writing anything the lease protects.
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.write(ctx, l.seq+1, false)
	if errors.Is(err, ErrExist) {
		return fmt.Errorf("lease %s: %w", l.name, ErrLeaseLost)
	}
	if err != nil {
		return err
	}
	l.seq++
	// The create succeeds also when the next number was written by a new
	// holder and already cleaned up by its later renewals: the lease is
	// this holder's only while its object is the highest.
	seqs, err := l.seqs(ctx)
	if err != nil {
		return fmt.Errorf("lease %s: %w", l.name, err)
	}
	if len(seqs) == 0 || seqs[len(seqs)-1] != l.seq {
		return fmt.Errorf("lease %s: %w (a newer object than this holder's %d exists)", l.name, ErrLeaseLost, l.seq)
	}
	l.cleanup(ctx)
	return nil
}

// Release gives the lease up, so that the next holder need not wait for it
// to expire. Releasing a lease that was lost is not an error.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.write(ctx, l.seq+1, true)
	if errors.Is(err, ErrExist) {
		return nil
	}
	return err
}

// Holder returns the name this lease is held under.
func (l *Lease) Holder() string { return l.holder }

// TTL returns how long the lease holds without a renewal.
func (l *Lease) TTL() time.Duration { return l.ttl }

// write creates the lease's object number seq.
func (l *Lease) write(ctx context.Context, seq uint64, released bool) error {
	rec := leaseRecord{Holder: l.holder, Expires: l.now().Add(l.ttl).UTC(), Released: released}
	if released {
		rec.Expires = l.now().UTC()
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return l.s.Create(ctx, l.key(seq), data)
}

// latest returns the highest number of the lease's objects and its record;
// 0 when there is none.
func (l *Lease) latest(ctx context.Context) (uint64, leaseRecord, error) {
	seqs, err := l.seqs(ctx)
	if err != nil || len(seqs) == 0 {
		return 0, leaseRecord{}, err
	}
	top := seqs[len(seqs)-1]
	data, err := l.s.Read(ctx, l.key(top))
	if err != nil {
		return 0, leaseRecord{}, fmt.Errorf("lease %s: %w", l.name, err)
	}
	var rec leaseRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return 0, leaseRecord{}, fmt.Errorf("lease %s: object %d: %w", l.name, top, err)
	}
	return top, rec, nil
}

// seqs returns the numbers of the lease's objects in increasing order.
func (l *Lease) seqs(ctx context.Context) ([]uint64, error) {
	objs, err := l.s.List(ctx, l.name+"/")
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, l.name+"/")
		if strings.Contains(rest, "/") {
			continue
		}
		if n, err := strconv.ParseUint(rest, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out, nil // List returns keys in order and the numbers are zero-padded
}

// cleanup deletes the lease's objects older than the one before the
// current: best effort, since they no longer decide anything.
func (l *Lease) cleanup(ctx context.Context) {
	seqs, err := l.seqs(ctx)
	if err != nil {
		return
	}
	for _, n := range seqs {
		if n+1 < l.seq {
			_ = l.s.Delete(ctx, l.key(n))
		}
	}
}

func (l *Lease) key(seq uint64) string { return path.Join(l.name, fmt.Sprintf("%020d", seq)) }

// defaultHolder names this process: host, pid and a random suffix, so two
// processes never share a name even in two containers with pid 1.
func defaultHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
