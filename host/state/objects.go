package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quiver-etl/quiver/host/blobstore"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// State on an object store (s3://, gs://, azblob://), which has no rename
// and no lock. Each save of a source is a new object, written create-only:
//
//	<source>/state/00000000000000000001.json
//	<source>/state/00000000000000000002.json   the latest: the source's state
//	<source>/lease/…                            the lock (a blobstore.Lease)
//
// Load reads the highest number and remembers it; Save creates the next
// number and then lists again: it commits only if its object is the
// highest, and otherwise deletes it. So of two runs that loaded the same
// state only the first to save succeeds: the other gets ErrConflict and
// must stop, even when the number it creates was written by the other and
// deleted as old since. A save is therefore a commit point that two
// writers cannot both pass, even if one of them lost its lease without
// noticing (a paused process). Older objects are deleted after a save,
// keeping the two before it.

// ErrConflict is wrapped by Save's error when another run saved the
// source's state since this one loaded it, or took over its lease: this
// run must stop writing (the host exits 75, and a later run goes on).
var ErrConflict = errors.New("another run changed the state")

// LeaseTTLEnv names the variable that sets how long a lock on an object
// store holds without a renewal (a Go duration, default DefaultLeaseTTL):
// a run that crashed keeps the source locked that long.
const LeaseTTLEnv = "QUIVER_LEASE_TTL"

// DefaultLeaseTTL is the lease TTL when $QUIVER_LEASE_TTL is not set.
const DefaultLeaseTTL = 2 * time.Minute

// opTimeout bounds one state operation on an object store. State
// operations do not take the run's context: a commit that has started
// when the run is interrupted completes, as a local save does.
const opTimeout = 2 * time.Minute

// keepStates is how many state objects before the latest a save keeps.
const keepStates = 2

// objects is the object-store side of a Store.
type objects struct {
	bs  *blobstore.Store
	ttl time.Duration

	mu     sync.Mutex
	leases map[string]*heldLease // by source
	seq    map[string]uint64     // by source: the state object loaded or saved last
}

// loaded records that seq is the source's state object this store has.
func (o *objects) loaded(source string, seq uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq[source] = seq
}

// heldLease is a lease this store holds and renews.
type heldLease struct {
	lease *blobstore.Lease
	stop  chan struct{}
	done  chan struct{}

	mu   sync.Mutex
	lost error // set when a renewal found the lease taken over
}

// OpenLocation returns the store at location: a local folder (see Open)
// or an object-store URL (s3://bucket/prefix?…, gs://…, azblob://…; see
// package blobstore). ctx governs only the opening.
func OpenLocation(ctx context.Context, location string) (*Store, error) {
	if !blobstore.IsURL(location) || strings.HasPrefix(strings.ToLower(location), "file://") {
		return Open(strings.TrimPrefix(location, "file://"))
	}
	bs, err := blobstore.Open(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	ttl := DefaultLeaseTTL
	if v := os.Getenv(LeaseTTLEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bs.Close()
			return nil, fmt.Errorf("state: $%s=%q: want a duration such as 2m", LeaseTTLEnv, v)
		}
		ttl = d
	}
	return &Store{now: time.Now, obj: &objects{bs: bs, ttl: ttl, leases: map[string]*heldLease{}, seq: map[string]uint64{}}}, nil
}

// Remote reports whether the store is on an object store.
func (s *Store) Remote() bool { return s.obj != nil }

// Close releases an object store's connections; it does nothing for a
// local folder.
func (s *Store) Close() error {
	if s.obj == nil {
		return nil
	}
	return s.obj.bs.Close()
}

func opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

func stateKey(source string, seq uint64) string {
	return path.Join(source, "state", fmt.Sprintf("%020d.json", seq))
}

// seqs returns the numbers of source's state objects, increasing.
func (o *objects) seqs(ctx context.Context, source string) ([]uint64, error) {
	prefix := source + "/state/"
	objs, err := o.bs.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("state: list source %q: %w", source, err)
	}
	var out []uint64
	for _, ob := range objs {
		name, ok := strings.CutSuffix(strings.TrimPrefix(ob.Key, prefix), fileExt)
		if !ok || strings.Contains(name, "/") {
			continue
		}
		if n, err := strconv.ParseUint(name, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out, nil // zero-padded: List's key order is numeric order
}

// load returns the latest state object of source and its number; 0 and
// nil data when there is none.
func (o *objects) load(source string) (uint64, []byte, error) {
	ctx, cancel := opContext()
	defer cancel()
	seqs, err := o.seqs(ctx, source)
	if err != nil || len(seqs) == 0 {
		return 0, nil, err
	}
	top := seqs[len(seqs)-1]
	data, err := o.bs.Read(ctx, stateKey(source, top))
	if err != nil {
		return 0, nil, fmt.Errorf("state: load source %q: %w", source, err)
	}
	return top, data, nil
}

// save creates the source's next state object, after renewing the source's
// lease when this store holds it, so that no other run can have taken the
// source over in between.
func (o *objects) save(source string, data []byte) error {
	ctx, cancel := opContext()
	defer cancel()
	o.mu.Lock()
	seq := o.seq[source] + 1
	o.mu.Unlock()
	if h := o.held(source); h != nil {
		err := h.renew(ctx)
		if errors.Is(err, blobstore.ErrLeaseLost) {
			return fmt.Errorf("state: save source %q: %w: %w", source, ErrConflict, err)
		}
		if err != nil {
			// The store did not answer: nothing says another run has the
			// source, but this one cannot commit without its lease.
			return fmt.Errorf("state: save source %q: renew the lock: %w: %w", source, err, protocol.ErrTemporary)
		}
	}
	err := o.bs.Create(ctx, stateKey(source, seq), data)
	if errors.Is(err, blobstore.ErrExist) {
		return fmt.Errorf("state: save source %q: %w: state %d was written by another run since this one loaded state %d", source, ErrConflict, seq, seq-1)
	}
	if err != nil {
		return fmt.Errorf("state: save source %q: %w", source, err)
	}
	// The create succeeds also when another run wrote that number and
	// then deleted it as old, having saved newer ones: the save commits
	// only if its object is the highest.
	seqs, err := o.seqs(ctx, source)
	if err != nil {
		// Whether it committed is unknown: the run stops, and the next
		// one reads the highest number, this one's or a newer one.
		return fmt.Errorf("state: save source %q: %w", source, err)
	}
	if len(seqs) == 0 || seqs[len(seqs)-1] != seq {
		_ = o.bs.Delete(ctx, stateKey(source, seq))
		return fmt.Errorf("state: save source %q: %w: a newer state than %d was written by another run since this one loaded state %d", source, ErrConflict, seq, seq-1)
	}
	o.loaded(source, seq)
	// Best effort: older objects decide nothing once a later one exists.
	for _, n := range seqs {
		if n+keepStates < seq {
			_ = o.bs.Delete(ctx, stateKey(source, n))
		}
	}
	return nil
}

// sources returns the names of the sources with state objects. It lists
// folders, not keys: a state location that shares its prefix with a
// destination does not make it walk every part file.
func (o *objects) sources() ([]string, error) {
	ctx, cancel := opContext()
	defer cancel()
	dirs, err := o.bs.Dirs(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("state: list sources: %w", err)
	}
	var names []string
	for _, d := range dirs {
		name := strings.TrimSuffix(d, "/")
		if ValidateName(name) != nil {
			continue
		}
		sub, err := o.bs.Dirs(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("state: list sources: %w", err)
		}
		if slices.Contains(sub, d+"state/") {
			names = append(names, name)
		}
	}
	return names, nil
}

// lock takes source's lease, on the clock now, and renews it in the
// background until release.
func (o *objects) lock(source string, now func() time.Time) (release func() error, err error) {
	ctx, cancel := opContext()
	defer cancel()
	name := path.Join(source, "lease")
	l, err := o.bs.AcquireLease(ctx, name, blobstore.LeaseOptions{TTL: o.ttl, Now: now})
	var he *blobstore.HeldError
	if errors.As(err, &he) {
		return nil, &LockedError{Source: source, Path: o.bs.String() + "/" + name, Holder: he.Holder, Until: he.Expires}
	}
	if err != nil {
		return nil, fmt.Errorf("state: lock source %q: %w", source, err)
	}
	h := &heldLease{lease: l, stop: make(chan struct{}), done: make(chan struct{})}
	o.mu.Lock()
	o.leases[source] = h
	o.mu.Unlock()
	go h.keep(o.ttl / 3)
	return sync.OnceValue(func() error {
		close(h.stop)
		<-h.done
		o.mu.Lock()
		delete(o.leases, source)
		o.mu.Unlock()
		ctx, cancel := opContext()
		defer cancel()
		if err := l.Release(ctx); err != nil {
			return fmt.Errorf("state: unlock source %q: %w", source, err)
		}
		return nil
	}), nil
}

func (o *objects) held(source string) *heldLease {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.leases[source]
}

// keep renews the lease every interval until stopped or lost.
func (h *heldLease) keep(interval time.Duration) {
	defer close(h.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			ctx, cancel := opContext()
			err := h.renew(ctx)
			cancel()
			if errors.Is(err, blobstore.ErrLeaseLost) {
				return
			}
		}
	}
}

// renew renews the lease, or returns why it cannot: once lost, always.
// A renewal that fails for another reason (the store did not answer) is
// returned but does not mark the lease lost; it still holds until expiry.
func (h *heldLease) renew(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost != nil {
		return h.lost
	}
	err := h.lease.Renew(ctx)
	if errors.Is(err, blobstore.ErrLeaseLost) {
		h.lost = err
	}
	return err
}

// marshal encodes src for storage.
func marshal(src *Source) ([]byte, error) {
	data, err := json.MarshalIndent(src, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
