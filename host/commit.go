package host

import (
	"fmt"
	"path/filepath"

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
