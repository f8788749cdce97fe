package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/quiver-etl/quiver/host/sink"
)

var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return testNow }
	return s
}

func testSource() *Source {
	return &Source{
		Source: "acme",
		Streams: map[string]*Stream{
			"employees": {
				State:     json.RawMessage(`{"updated_since":"2026-03-01T00:00:00Z","offset":200}`),
				Mode:      "incremental",
				RunID:     "r1",
				UpdatedAt: testNow.Add(-time.Minute),
			},
			"sites": {Mode: "full_refresh", RunID: "r1"},
		},
		Pending: []sink.File{{Temp: "/out/acme/employees/.part-r1-0001.parquet.tmp", Final: "/out/acme/employees/part-r1-0001.parquet", Rows: 1000, Bytes: 52011}},
		Retire:  []string{"/out/acme/employees/part-r0-0001.parquet"},
	}
}

func TestStore_SaveLoad(t *testing.T) {
	s := openStore(t)
	src := testSource()
	if err := s.Save(src); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if src.Version != Version || !src.UpdatedAt.Equal(testNow) {
		t.Errorf("Save set Version=%d UpdatedAt=%v", src.Version, src.UpdatedAt)
	}
	got, err := s.Load("acme")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(src, got); diff != "" {
		t.Errorf("Load after Save (-saved +loaded):\n%s", diff)
	}

	// The file has the documented shape.
	data, err := os.ReadFile(s.Path("acme"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"version":    1.0,
		"source":     "acme",
		"updated_at": "2026-03-04T05:06:07Z",
		"streams": map[string]any{
			"employees": map[string]any{
				"state":      map[string]any{"updated_since": "2026-03-01T00:00:00Z", "offset": 200.0},
				"mode":       "incremental",
				"run_id":     "r1",
				"updated_at": "2026-03-04T05:05:07Z",
			},
			"sites": map[string]any{"mode": "full_refresh", "run_id": "r1"},
		},
		"pending": []any{map[string]any{
			"temp": "/out/acme/employees/.part-r1-0001.parquet.tmp", "final": "/out/acme/employees/part-r1-0001.parquet",
			"rows": 1000.0, "bytes": 52011.0,
		}},
		"retire": []any{"/out/acme/employees/part-r0-0001.parquet"},
	}
	if diff := cmp.Diff(want, raw); diff != "" {
		t.Errorf("file content (-want +got):\n%s", diff)
	}

	// Clearing pending and retire after the commit drops the keys.
	got.Pending, got.Retire = nil, nil
	if err := s.Save(got); err != nil {
		t.Fatal(err)
	}
	again, err := s.Load("acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Pending) != 0 || len(again.Retire) != 0 {
		t.Errorf("Pending = %v, Retire = %v after clearing", again.Pending, again.Retire)
	}
	if b, _ := os.ReadFile(s.Path("acme")); strings.Contains(string(b), "retire") || strings.Contains(string(b), "pending") {
		t.Errorf("cleared lists are still in the file:\n%s", b)
	}
	assertOnly(t, s.Dir(), "acme.json")
}

// assertOnly checks that dir holds exactly names (no temporary files).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("files in %s (-want +got):\n%s", dir, diff)
	}
}

func TestStore_Modes(t *testing.T) {
	s := openStore(t)
	if err := s.Save(testSource()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want os.FileMode
	}{
		{s.Dir(), 0o700},
		{s.Path("acme"), 0o600},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("mode of %s = %v, want %v", tc.path, got, tc.want)
		}
	}
	// An existing file with a looser mode is tightened on the next Save.
	if err := os.Chmod(s.Path("acme"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(testSource()); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(s.Path("acme")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after re-save = %v, want 0600", fi.Mode().Perm())
	}
}

func TestStore_LoadMissing(t *testing.T) {
	s := openStore(t)
	got, err := s.Load("acme")
	if err != nil {
		t.Fatalf("Load of a missing file: %v", err)
	}
	want := &Source{Version: Version, Source: "acme", Streams: map[string]*Stream{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	// The empty source can be filled in and saved.
	got.Streams["employees"] = &Stream{State: json.RawMessage(`{"page":3}`)}
	if err := s.Save(got); err != nil {
		t.Fatal(err)
	}
}

func TestStore_LoadCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"truncated", `{"version":1,"source":"acme","streams":{`, "unexpected end of JSON input"},
		{"empty", ``, "unexpected end of JSON input"},
		{"no version", `{"source":"acme","streams":{}}`, "no version"},
		{"other source", `{"version":1,"source":"globex","streams":{}}`, `holds the state of source "globex"`},
		{"null stream", `{"version":1,"source":"acme","streams":{"employees":null}}`, `stream "employees" is null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t)
			if err := os.WriteFile(s.Path("acme"), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load("acme")
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, part := range []string{s.Path("acme"), "corrupt", `quiver state reset acme`, tc.want} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q lacks %q", err, part)
				}
			}
		})
	}
	t.Run("newer version", func(t *testing.T) {
		s := openStore(t)
		if err := os.WriteFile(s.Path("acme"), []byte(`{"version":2,"source":"acme"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load("acme"); err == nil || !strings.Contains(err.Error(), "upgrade quiver") {
			t.Errorf("Load of a version 2 file: %v", err)
		}
	})
}

func TestStore_Reset(t *testing.T) {
	t.Run("streams", func(t *testing.T) {
		s := openStore(t)
		if err := s.Save(testSource()); err != nil {
			t.Fatal(err)
		}
		if err := s.Reset("acme", "employees", "unknown"); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		got, err := s.Load("acme")
		if err != nil {
			t.Fatal(err)
		}
		want := testSource()
		delete(want.Streams, "employees")
		if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool {
			return p.Last().String() == ".UpdatedAt" || p.Last().String() == ".Version"
		}, cmp.Ignore())); diff != "" {
			t.Errorf("after Reset (-want +got):\n%s", diff)
		}
		assertOnly(t, s.Dir(), "acme.json")
	})
	t.Run("source", func(t *testing.T) {
		s := openStore(t)
		if err := s.Save(testSource()); err != nil {
			t.Fatal(err)
		}
		for i := range 2 { // a second reset finds nothing and succeeds
			if err := s.Reset("acme"); err != nil {
				t.Fatalf("Reset #%d: %v", i+1, err)
			}
		}
		if _, err := os.Stat(s.Path("acme")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("state file still there: %v", err)
		}
		got, err := s.Load("acme")
		if err != nil || len(got.Streams) != 0 {
			t.Errorf("Load after reset = %+v, %v", got, err)
		}
	})
	t.Run("source with files in an object store", func(t *testing.T) {
		// The destination is an object store, the state local: the reset
		// keeps the list of committed files and the recorded runs, as on
		// an object store, since the files stay the destination's.
		s := openStore(t)
		src := testSource()
		src.Files = []Object{{Key: "acme/employees/part-r1-0001.parquet", Rows: 3, Bytes: 30}}
		src.Runs = []string{"r1", "r2"}
		if err := s.Save(src); err != nil {
			t.Fatal(err)
		}
		if err := s.Reset("acme"); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load("acme")
		if err != nil || len(got.Streams) != 0 || !slices.Equal(got.Files, src.Files) || !slices.Equal(got.Runs, src.Runs) {
			t.Errorf("Load after reset = %+v, %v; want no streams, the files and the runs", got, err)
		}
	})
	t.Run("streams of a missing source", func(t *testing.T) {
		s := openStore(t)
		if err := s.Reset("acme", "employees"); err != nil {
			t.Fatal(err)
		}
		assertOnly(t, s.Dir())
	})
}

func TestStore_SaveInvalid(t *testing.T) {
	s := openStore(t)
	src := testSource()
	src.Streams["employees"].State = json.RawMessage(`{"offset":`)
	if err := s.Save(src); err == nil || !strings.Contains(err.Error(), `save source "acme"`) {
		t.Fatalf("Save of invalid stream state = %v", err)
	}
	src.Streams["employees"] = nil
	if err := s.Save(src); err == nil {
		t.Fatal("Save with a nil stream succeeded")
	}
	if err := s.Save(&Source{Source: "acme", Version: 2}); err == nil {
		t.Fatal("Save of version 2 succeeded")
	}
	assertOnly(t, s.Dir())
}

func TestStore_Sources(t *testing.T) {
	s := openStore(t)
	for _, name := range []string{"globex", "acme"} {
		src := testSource()
		src.Source = name
		if err := s.Save(src); err != nil {
			t.Fatal(err)
		}
	}
	release, err := s.Lock("acme") // a lock file is not a source
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for _, name := range []string{".acme.json123", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Sources()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"acme", "globex"}, got); diff != "" {
		t.Errorf("Sources (-want +got):\n%s", diff)
	}
}

func TestValidateName(t *testing.T) {
	s := openStore(t)
	for _, name := range []string{"", "a/b", `a\b`, "..", "a..b", ".hidden", "a\nb"} {
		t.Run(name, func(t *testing.T) {
			if err := ValidateName(name); err == nil {
				t.Fatal("ValidateName succeeded")
			}
			if _, err := s.Load(name); err == nil {
				t.Error("Load succeeded")
			}
			if err := s.Save(&Source{Source: name}); err == nil {
				t.Error("Save succeeded")
			}
			if err := s.Reset(name); err == nil {
				t.Error("Reset succeeded")
			}
			if _, err := s.Lock(name); err == nil {
				t.Error("Lock succeeded")
			}
		})
	}
	for _, name := range []string{"acme", "acme-prod_2", "Acme Corp", "tracktik.eu"} {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q) = %v", name, err)
		}
	}
}

func TestStore_Lock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	first, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	release, err := first.Lock("acme")
	if err != nil {
		t.Fatalf("first Lock: %v", err)
	}

	_, err = second.Lock("acme")
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock = %v, want a *LockedError", err)
	}
	if le.PID != os.Getpid() {
		t.Errorf("LockedError.PID = %d, want this process, %d", le.PID, os.Getpid())
	}
	wantMsg := fmt.Sprintf(`state: another quiver run (pid %d) holds the lock on source "acme" (%s)`, os.Getpid(), filepath.Join(dir, "acme.lock"))
	if err.Error() != wantMsg {
		t.Errorf("error = %q, want %q", err, wantMsg)
	}

	// Other sources are independent.
	releaseOther, err := second.Lock("globex")
	if err != nil {
		t.Fatalf("Lock of another source: %v", err)
	}
	if err := releaseOther(); err != nil {
		t.Fatal(err)
	}

	if err := release(); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := release(); err != nil {
		t.Fatalf("second release: %v", err)
	}
	releaseSecond, err := second.Lock("acme")
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	defer releaseSecond()

	fi, err := os.Stat(filepath.Join(dir, "acme.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestStore_LockRemovesStaleTemps(t *testing.T) {
	s := openStore(t)
	if err := s.Save(testSource()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".acme.json8427193", ".globex.json12"} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	release, err := s.Lock("acme")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// Only acme's leftover goes: globex's may belong to a running Save.
	assertOnly(t, s.Dir(), ".globex.json12", "acme.json", "acme.lock")
}
