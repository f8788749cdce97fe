package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quiver-etl/quiver/internal/s3test"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// objectStores returns the S3 servers the object-store tests run against.
func objectStores() map[string]func(t *testing.T) *s3test.Server {
	return map[string]func(t *testing.T) *s3test.Server{"gofakes3": s3test.FakeS3, "versitygw": s3test.Versity}
}

// twoStores starts a server and opens two stores on one state location in
// it, as two runs would.
func twoStores(t *testing.T, start func(t *testing.T) *s3test.Server) (one, two *Store) {
	t.Helper()
	s3test.SetEnv(t)
	url := start(t).URL("team/state")
	return openObjects(t, url), openObjects(t, url)
}

// load loads src's state from st.
func load(t *testing.T, st *Store, src string) *Source {
	t.Helper()
	s, err := st.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openObjects(t *testing.T, url string) *Store {
	t.Helper()
	s, err := OpenLocation(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if !s.Remote() {
		t.Fatalf("OpenLocation(%s) is not remote", url)
	}
	return s
}

// TestObjects_Conflict: two runs load the same state; the first save
// commits, the second fails with ErrConflict and changes nothing; Files
// round-trips; old state objects are deleted.
func TestObjects_Conflict(t *testing.T) {
	for name, start := range objectStores() {
		t.Run(name, func(t *testing.T) {
			one, two := twoStores(t, start)
			a, b := load(t, one, "acme"), load(t, two, "acme")
			a.Streams["employees"] = &Stream{State: json.RawMessage(`{"page":1}`)}
			a.Files = []Object{{Key: "acme/employees/part-r1-0001.parquet", Rows: 10, Bytes: 100}}
			if err := one.Save(a); err != nil {
				t.Fatal(err)
			}
			b.Streams["employees"] = &Stream{State: json.RawMessage(`{"page":9}`)}
			if err := two.Save(b); !errors.Is(err, ErrConflict) {
				t.Fatalf("second Save = %v, want ErrConflict", err)
			}
			got, err := two.Load("acme")
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Streams["employees"].State) != `{"page":1}` || !slices.Equal(got.Files, a.Files) {
				t.Errorf("Load after the conflict = %s %v, want the first run's", got.Streams["employees"].State, got.Files)
			}
			for range 5 {
				if err := two.Save(got); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			seqs, err := two.obj.seqs(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			if len(seqs) != keepStates+1 || seqs[len(seqs)-1] != 6 {
				t.Errorf("state objects %v, want the last %d of 6", seqs, keepStates+1)
			}
			names, err := one.Sources()
			if err != nil || !slices.Equal(names, []string{"acme"}) {
				t.Errorf("Sources = %v, %v", names, err)
			}
			// A reset keeps the committed files (still the destination's)
			// and drops the cursors.
			if err := one.Reset("acme"); err != nil {
				t.Fatal(err)
			}
			got, err = one.Load("acme")
			if err != nil || len(got.Streams) != 0 || !slices.Equal(got.Files, a.Files) {
				t.Errorf("after Reset: %v %v, %v; want no streams and the files", got.Streams, got.Files, err)
			}
		})
	}
}

// TestObjects_Lock: a second store cannot lock a locked source (a
// LockedError naming the holder), can once it is released; a save by a run
// that holds the lock renews it.
func TestObjects_Lock(t *testing.T) {
	for name, start := range objectStores() {
		t.Run(name, func(t *testing.T) {
			one, two := twoStores(t, start)
			release, err := one.Lock("acme")
			if err != nil {
				t.Fatal(err)
			}
			_, err = two.Lock("acme")
			var le *LockedError
			if !errors.As(err, &le) || le.Holder == "" || !strings.Contains(err.Error(), "until") {
				t.Fatalf("second Lock = %v, want a LockedError naming the holder", err)
			}
			src, err := one.Load("acme")
			if err != nil {
				t.Fatal(err)
			}
			if err := one.Save(src); err != nil {
				t.Fatalf("Save holding the lock: %v", err)
			}
			if err := release(); err != nil {
				t.Fatal(err)
			}
			release, err = two.Lock("acme")
			if err != nil {
				t.Fatalf("Lock after release: %v", err)
			}
			if err := release(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestObjects_LeaseTakenOver: a run that stopped renewing its lease (a
// paused or crashed process) holds it only until it expires; another run
// then takes it over, and the first can no longer commit: its save fails
// with ErrConflict and writes nothing. That holds whether the new holder
// did nothing yet or renewed twice and saved four times (deleting, as old,
// the numbers the paused run creates next).
func TestObjects_LeaseTakenOver(t *testing.T) {
	for name, start := range objectStores() {
		for _, used := range []struct{ renewals, saves int }{{0, 0}, {2, 4}} {
			t.Run(fmt.Sprintf("%s/renewals=%d,saves=%d", name, used.renewals, used.saves), func(t *testing.T) {
				one, two := twoStores(t, start)
				if _, err := one.Lock("acme"); err != nil {
					t.Fatal(err)
				}
				src, err := one.Load("acme")
				if err != nil {
					t.Fatal(err)
				}
				h := one.obj.held("acme")
				close(h.stop) // the process pauses: no more renewals
				<-h.done
				if _, err := two.Lock("acme"); err == nil {
					t.Fatal("a second run took a lease that has not expired")
				}
				two.now = func() time.Time { return time.Now().Add(DefaultLeaseTTL + time.Second) }
				release, err := two.Lock("acme")
				if err != nil {
					t.Fatalf("Lock after the lease expired: %v", err)
				}
				defer release()
				for range used.renewals {
					if err := two.obj.held("acme").renew(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				b, err := two.Load("acme")
				if err != nil {
					t.Fatal(err)
				}
				for range used.saves {
					if err := two.Save(b); err != nil {
						t.Fatal(err)
					}
				}
				src.Streams["employees"] = &Stream{State: json.RawMessage(`{"page":2}`)}
				if err := one.Save(src); !errors.Is(err, ErrConflict) {
					t.Fatalf("Save by the run that lost its lease = %v, want ErrConflict", err)
				}
				got, err := two.Load("acme")
				if err != nil || got.Streams["employees"] != nil {
					t.Errorf("the state after the refused save: %v, %v; want nothing saved", got.Streams, err)
				}
				if err := two.Save(got); err != nil {
					t.Errorf("the run holding the lease cannot save after the refused one: %v", err)
				}
			})
		}
	}
}

// TestObjects_StaleSave: a run that loaded state k saves after another run
// saved k+1 … k+4 and deleted k+1 as old. Its create of k+1 succeeds, but
// k+1 is not the highest: the save fails with ErrConflict and leaves no
// object behind, and Load still returns the other run's state.
func TestObjects_StaleSave(t *testing.T) {
	for name, start := range objectStores() {
		t.Run(name, func(t *testing.T) {
			one, two := twoStores(t, start)
			a, b := load(t, one, "acme"), load(t, two, "acme")
			b.Files = []Object{{Key: "acme/employees/part-b-0001.parquet", Rows: 1, Bytes: 10}}
			for i := range 4 {
				b.Streams["employees"] = &Stream{State: json.RawMessage(fmt.Sprintf(`{"page":%d}`, i))}
				if err := two.Save(b); err != nil {
					t.Fatal(err)
				}
			}
			a.Streams["employees"] = &Stream{State: json.RawMessage(`{"page":99}`)}
			if err := one.Save(a); !errors.Is(err, ErrConflict) {
				t.Fatalf("Save by a run whose state is four saves old = %v, want ErrConflict", err)
			}
			seqs, err := one.obj.seqs(context.Background(), "acme")
			if err != nil || slices.Contains(seqs, 1) {
				t.Errorf("state objects %v, %v: the refused save left its object", seqs, err)
			}
			got, err := one.Load("acme")
			if err != nil || string(got.Streams["employees"].State) != `{"page":3}` || !slices.Equal(got.Files, b.Files) {
				t.Errorf("Load after the refused save = %v, %v; want the other run's state", got, err)
			}
		})
	}
}

// TestObjects_RenewUnreachable: a save whose lease renewal fails because
// the store stopped answering is a temporary failure, not a conflict: no
// other run is known to have the source.
func TestObjects_RenewUnreachable(t *testing.T) {
	for name, start := range objectStores() {
		t.Run(name, func(t *testing.T) {
			s3test.SetEnv(t)
			srv := start(t)
			one := openObjects(t, srv.URL("team/state"))
			if _, err := one.Lock("acme"); err != nil {
				t.Fatal(err)
			}
			src, err := one.Load("acme")
			if err != nil {
				t.Fatal(err)
			}
			srv.Stop()
			err = one.Save(src)
			if err == nil || errors.Is(err, ErrConflict) || !errors.Is(err, protocol.ErrTemporary) {
				t.Errorf("Save with the store gone = %v, want a temporary failure, not a conflict", err)
			}
		})
	}
}

// TestObjects_SourcesByFolder: Sources lists folders, not keys: with the
// state in the same prefix as a destination's part files, it names only
// the sources with state, and every list request it makes has a
// delimiter, so that it never walks the part files.
func TestObjects_SourcesByFolder(t *testing.T) {
	s3test.SetEnv(t)
	srv := s3test.FakeS3(t)
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lists []string // the query of every list request
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Has("list-type") {
			mu.Lock()
			lists = append(lists, r.URL.RawQuery)
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	s := openObjects(t, (&s3test.Server{Endpoint: front.URL}).URL("team/lake"))
	for _, name := range []string{"acme", "globex"} {
		if err := s.Save(&Source{Source: name}); err != nil {
			t.Fatal(err)
		}
	}
	bs := s.obj.bs
	for i := range 5 {
		if err := bs.Put(context.Background(), fmt.Sprintf("acme/employees/part-r1-%04d.parquet", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := bs.Put(context.Background(), fmt.Sprintf("initech/shifts/part-r1-%04d.parquet", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	lists = nil
	mu.Unlock()
	names, err := s.Sources()
	if err != nil || !slices.Equal(names, []string{"acme", "globex"}) {
		t.Errorf("Sources = %v, %v; want acme and globex", names, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lists) == 0 {
		t.Fatal("no list request went through the proxy")
	}
	for _, q := range lists {
		if v, _ := url.ParseQuery(q); v.Get("delimiter") != "/" {
			t.Errorf("Sources listed without a delimiter: %s", q)
		}
	}
}
