package host

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/host/state"
)

// commitFiles is the commit protocol of every change to a stream's files:
// an incremental checkpoint (retire is empty), the replace of a full
// refresh or snapshot stream, and a compaction.
//
//  1. The files to publish are finished temporary files (written and
//     fsynced), and st already holds the streams' new state.
//  2. st is saved with the files in Pending and the files they replace in
//     Retire. This is the commit point.
//  3. The pending files are published.
//  4. The retired files are removed.
//  5. st is saved again without Pending and Retire.
//
// A crash before step 2 leaves the previous files and state; the next
// run removes the temporary files (see sourceRun.recover). A crash after
// it leaves a state that names everything still to do, and the next run
// rolls it forward (rollForward) before it reads anything. Either way
// readers end up with the old set of files or the new one, never both and
// never neither.
//
// committed reports whether the commit point was passed: then the files
// are the stream's, even if err says a later step failed (the next run
// finishes it).
func commitFiles(store *state.Store, files sink.Files, st *state.Source, publish []sink.File, retire []string) (committed bool, err error) {
	st.Pending = append(st.Pending, publish...)
	st.Retire = append(st.Retire, retire...)
	if err := store.Save(st); err != nil {
		return false, fmt.Errorf("save state: %w", err)
	}
	return true, rollForward(store, files, st)
}

// rollForward does steps 3 to 5 of commitFiles for a saved state: it
// publishes st.Pending, removes st.Retire and saves st without them. Both
// operations are idempotent, so it is safe on a commit that a crashed run
// had partly done.
func rollForward(store *state.Store, files sink.Files, st *state.Source) error {
	if len(st.Pending) == 0 && len(st.Retire) == 0 {
		return nil
	}
	for i := range st.Pending {
		if err := files.Publish(&st.Pending[i]); err != nil {
			return fmt.Errorf("publish %s: %w", st.Pending[i].Final, err)
		}
	}
	for _, path := range st.Retire {
		if err := files.Remove(path); err != nil {
			return fmt.Errorf("remove replaced file %s: %w", path, err)
		}
	}
	st.Pending, st.Retire = nil, nil
	if err := store.Save(st); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// absPaths returns paths made absolute, as the state records them: a
// relative destination must not depend on the working directory of the
// run that rolls a commit forward.
func absPaths(paths []string) ([]string, error) {
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// recoverSource finishes what a crashed run of a source left half done,
// before anything else touches its files: the commit saved in st is
// rolled forward, then the temporary files no commit covers are removed
// from every stream folder under dir. The caller holds the source's lock.
func recoverSource(store *state.Store, files sink.Files, st *state.Source, dir string, log *slog.Logger) error {
	for _, f := range st.Pending {
		log.Info("publishing a file committed by an interrupted run", "file", f.Final)
	}
	for _, path := range st.Retire {
		log.Info("removing a file replaced by an interrupted run", "file", path)
	}
	if err := rollForward(store, files, st); err != nil {
		return fmt.Errorf("recover the commit of an interrupted run: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // nothing written yet
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		removed, err := sink.Cleanup(filepath.Join(dir, e.Name()), func(string) bool { return false })
		if err != nil {
			return err
		}
		for _, r := range removed {
			log.Info("removed an uncommitted file left by an interrupted run", "file", r)
		}
		removeEmptyPartitions(filepath.Join(dir, e.Name()))
	}
	return nil
}

// partFiles lists the published part files of a stream folder and its
// partition folders, leaving out names that start with except (the files
// of the run that calls it; "" leaves out nothing), sorted by file name:
// run ids sort by time, so this is the order the runs wrote them in.
func partFiles(dir, except string) ([]string, error) {
	var out []string
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, e := range entries {
			n := e.Name()
			switch {
			case e.IsDir() && depth == 0 && isPartitionDir(n):
				if err := walk(filepath.Join(dir, n), depth+1); err != nil {
					return err
				}
			case !e.IsDir() && strings.HasPrefix(n, "part-") && (except == "" || !strings.HasPrefix(n, except)):
				out = append(out, filepath.Join(dir, n))
			}
		}
		return nil
	}
	if err := walk(dir, 0); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	return out, nil
}

// removeEmptyPartitions removes the partition folders of a stream folder
// that a replace left empty, so that readers do not see days without files.
func removeEmptyPartitions(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() && isPartitionDir(e.Name()) {
			_ = os.Remove(filepath.Join(dir, e.Name())) // fails, as it should, when not empty
		}
	}
}
