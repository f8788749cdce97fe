package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/host/state"
)

// errCrash stands for the process dying: the crashing Files returns it in
// place of (or right after) an operation, and the test then forgets
// everything in memory, as a new process would.
var errCrash = errors.New("crash")

// crashingFiles performs file operations until `after` of them are done,
// then fails every call with errCrash.
type crashingFiles struct {
	after int
	done  int
}

func (c *crashingFiles) op(do func() error) error {
	if c.done >= c.after {
		return errCrash
	}
	if err := do(); err != nil {
		return err
	}
	c.done++
	if c.done == c.after {
		return errCrash
	}
	return nil
}

func (c *crashingFiles) Publish(f *sink.File) error {
	return c.op(func() error { return sink.OS{}.Publish(f) })
}

func (c *crashingFiles) Remove(path string) error {
	return c.op(func() error { return sink.OS{}.Remove(path) })
}

// TestCommitFiles_CrashAtEveryStep replaces a stream's three files by two
// new ones and crashes before the commit point and after each file
// operation of publish and retire (and so before the final state save).
// Whatever the crash point, the next start's roll-forward and cleanup
// leave exactly one set of files: the old one when the crash came before
// the commit point, the new one otherwise.
func TestCommitFiles_CrashAtEveryStep(t *testing.T) {
	const oldN, newN = 3, 2
	for after := -1; after <= oldN+newN; after++ {
		name := fmt.Sprintf("crash after %d file operations", after)
		if after < 0 {
			name = "crash before the commit point"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out", "acme", "employees")
			store, err := state.Open(filepath.Join(t.TempDir(), "state"))
			if err != nil {
				t.Fatal(err)
			}
			var old, retire []string
			for i := range oldN {
				p := filepath.Join(dir, fmt.Sprintf("part-r1-%04d.parquet", i+1))
				writeFile(t, p)
				old = append(old, filepath.Base(p))
				retire = append(retire, p)
			}
			var fresh []sink.File
			var freshNames []string
			for i := range newN {
				name := fmt.Sprintf("part-r2-%04d.parquet", i+1)
				temp := filepath.Join(dir, "."+name+".tmp")
				writeFile(t, temp)
				fresh = append(fresh, sink.File{Temp: temp, Final: filepath.Join(dir, name), Rows: 1})
				freshNames = append(freshNames, name)
			}
			st, err := store.Load("acme")
			if err != nil {
				t.Fatal(err)
			}
			st.Streams["employees"] = &state.Stream{Mode: "full_refresh", RunID: "r2"}
			if after >= 0 {
				committed, err := commitFiles(store, &crashingFiles{after: after}, st, fresh, retire)
				if !committed || !errors.Is(err, errCrash) {
					t.Fatalf("commitFiles = %v, %v; want committed and the crash", committed, err)
				}
			}

			// The next start: a fresh load, the roll-forward, the cleanup.
			st, err = store.Load("acme")
			if err != nil {
				t.Fatal(err)
			}
			if err := rollForward(store, sink.OS{}, st); err != nil {
				t.Fatalf("rollForward: %v", err)
			}
			if _, err := sink.Cleanup(dir, nil); err != nil {
				t.Fatal(err)
			}
			want := freshNames
			if after < 0 {
				want = old
			}
			if diff := cmp.Diff(want, listDir(t, dir)); diff != "" {
				t.Errorf("files after the next start (-want +got):\n%s", diff)
			}
			again, err := store.Load("acme")
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Pending) != 0 || len(again.Retire) != 0 {
				t.Errorf("state after the roll-forward still has pending %v, retire %v", again.Pending, again.Retire)
			}
			if committed := again.Streams["employees"] != nil; committed != (after >= 0) {
				t.Errorf("stream state saved = %v, want %v", committed, after >= 0)
			}
		})
	}
}

// TestRollForward_Idempotent: rolling a commit forward twice, or after the
// files were already published and removed, succeeds and changes nothing.
func TestRollForward_Idempotent(t *testing.T) {
	dir := t.TempDir()
	store, err := state.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	oldPath := filepath.Join(dir, "part-r1-0001.csv")
	writeFile(t, oldPath)
	temp := filepath.Join(dir, ".part-r2-0001.csv.tmp")
	writeFile(t, temp)
	st := &state.Source{Source: "acme", Streams: map[string]*state.Stream{}}
	f := sink.File{Temp: temp, Final: filepath.Join(dir, "part-r2-0001.csv")}
	if _, err := commitFiles(store, sink.OS{}, st, []sink.File{f}, []string{oldPath}); err != nil {
		t.Fatal(err)
	}
	// A state saved before the crash names operations already done.
	st.Pending, st.Retire = []sink.File{f}, []string{oldPath}
	if err := rollForward(store, sink.OS{}, st); err != nil {
		t.Fatalf("second rollForward: %v", err)
	}
	if diff := cmp.Diff([]string{"part-r2-0001.csv"}, listDir(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}
