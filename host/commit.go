package host

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// commitFiles is the commit protocol of every change to a stream's files:
// an incremental checkpoint (retire is empty), the replace of a full
// refresh or snapshot stream, and a compaction.
//
//  1. The files to publish are finished temporary files (written and
//     fsynced), and st already holds the streams' new state. st is the
//     caller's copy: when the commit point is not passed, it is to be
//     dropped (see publish).
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

// commit makes the open parts durable. For an incremental stream they are
// published with the state that covers them; for a full refresh they wait,
// as finished temporary files (uploaded, on an object store), until the
// stream completes.
func (r *streamRun) commit() error {
	if len(r.parts) == 0 && (r.mode == protocol.FullRefresh || len(r.finished) == 0) {
		return nil
	}
	clear(r.used)
	var errs []error
	first := len(r.finished)
	for _, dir := range slices.Sorted(maps.Keys(r.parts)) {
		p := r.parts[dir]
		delete(r.parts, dir)
		if len(errs) > 0 || p.Rows() == 0 {
			errs = append(errs, p.Abort())
			continue
		}
		f, err := p.Finish()
		if err != nil {
			_ = p.Abort()
			errs = append(errs, fmt.Errorf("stream %s: finish file: %w", r.name, err))
			continue
		}
		r.finished = append(r.finished, *f)
	}
	if err := errors.Join(errs...); err != nil {
		r.torn = true // the files finished hold part of what the state covers
		return err
	}
	if r.mode == protocol.FullRefresh {
		return r.upload(r.finished[first:])
	}
	return r.publish(nil)
}

// upload uploads the finished files of a full refresh to an object store
// as they are finished, so that a snapshot does not wait whole on local
// disk: under their final names, but uncommitted until the stream
// completes (publish, which finds them uploaded). On a local folder it
// does nothing: the files wait as temporary files.
func (r *streamRun) upload(files []sink.File) error {
	s := r.src
	if !s.dest.remote() {
		return nil
	}
	for i := range files {
		if err := s.files.Publish(&files[i]); err != nil {
			return fmt.Errorf("stream %s: upload %s: %w", r.name, s.dest.name(files[i].Final), err)
		}
	}
	return nil
}

// dropFinished removes the finished files that will not be committed:
// their temporary files, and on an object store a full refresh's uploads
// (which the next run would remove otherwise).
func (r *streamRun) dropFinished() error {
	var errs []error
	for _, f := range r.finished {
		if err := os.Remove(f.Temp); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		if r.src.dest.remote() && r.mode == protocol.FullRefresh {
			errs = append(errs, r.src.files.Remove(f.Final))
		}
	}
	r.finished = nil
	return errors.Join(errs...)
}

// abort drops the open parts.
func (r *streamRun) abort() error {
	var errs []error
	for dir, p := range r.parts {
		errs = append(errs, p.Abort())
		delete(r.parts, dir)
	}
	clear(r.used)
	return errors.Join(errs...)
}

// publish commits the finished files with the state that covers them
// (see commitFiles); retire lists the published files they replace.
//
// The new state is built on a copy of the source's state, which it
// replaces only once the commit point is passed: a commit that fails
// before it (an upload or the save) leaves neither its files nor the
// stream's new cursor in the state that the source's other streams save
// later in the run. The stream's cursor goes back to the committed one.
func (r *streamRun) publish(retire []string) error {
	s := r.src
	next := s.st.Clone()
	next.Streams[r.name] = &state.Stream{
		State: r.state, Mode: string(r.mode), RunID: s.opts.RunID, UpdatedAt: s.opts.Now(), Schema: schemaID(r.schema),
		PrimaryKey: r.primaryKey,
	}
	retire, err := absPaths(retire)
	if err != nil {
		return fmt.Errorf("stream %s: %w", r.name, err)
	}
	files := r.finished
	r.finished = nil
	var committed bool
	if s.dest.remote() {
		committed, err = commitObjects(s.store, s.dest, s.files, next, files, retire)
	} else {
		committed, err = commitFiles(s.store, s.files, next, files, retire)
	}
	if !committed && r.mode == protocol.Incremental {
		r.state = nil
		if prev := s.st.Streams[r.name]; prev != nil {
			r.state = prev.State
		}
	}
	if committed {
		s.st = next
		// A failed publish or removal is finished by the next run.
		for _, f := range files {
			r.res.Records += f.Rows
			r.res.Files = append(r.res.Files, s.dest.name(f.Final))
			r.res.Bytes += f.Bytes
		}
		r.res.StateAfter = r.state
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", r.name, err)
	}
	if len(retire) > 0 {
		removeEmptyPartitions(r.dir)
	}
	return nil
}

// current returns the stream's published files other than this run's
// (the snapshot a full refresh replaces) and their records.
func (r *streamRun) current() (paths []string, rows int64, err error) {
	s := r.src
	except := "part-" + s.opts.RunID + "-"
	if s.dest.remote() {
		paths, rows = committedFiles(s.dest, s.st, s.cfg.Name, r.name, except)
		return paths, rows, nil
	}
	if paths, err = partFiles(r.dir, except); err != nil {
		return nil, 0, fmt.Errorf("stream %s: %w", r.name, err)
	}
	for _, path := range paths {
		n, err := sink.CountRows(path)
		if err != nil {
			return nil, 0, fmt.Errorf("stream %s: count the current snapshot's records: %w", r.name, err)
		}
		rows += n
	}
	return paths, rows, nil
}

// shrinkGuard refuses a new snapshot with no records, or with fewer than
// the source's min_snapshot_ratio of the current snapshot's have records,
// unless --allow-shrink: it drops the new files, keeps the current ones
// with their state, and marks the stream suspicious. It reports whether it
// refused.
func (r *streamRun) shrinkGuard(have int64) (refused bool, err error) {
	var next int64
	for _, f := range r.finished {
		next += f.Rows
	}
	opts := r.src.opts
	ratio := opts.Config.MinSnapshotRatio(r.src.idx)
	if have == 0 || (next > 0 && float64(next) >= ratio*float64(have)) {
		return false, nil
	}
	if opts.AllowShrink {
		r.log.Warn("replacing the snapshot with a much smaller one, as --allow-shrink says", "records", next, "snapshot_records", have)
		return false, nil
	}
	err = r.dropFinished()
	r.res.Status = "suspicious"
	r.res.Suspicious = &Suspicious{Records: next, SnapshotRecords: have, MinSnapshotRatio: ratio}
	r.res.err = fmt.Errorf("suspicious: the new snapshot has %d records, the current one %d (min_snapshot_ratio %g); the current snapshot is kept: if the source really lost them, run quiver sync --allow-shrink", next, have, ratio)
	r.res.Error = r.res.err.Error()
	r.log.Warn("refused a new snapshot much smaller than the current one; the current snapshot is kept", "records", next, "snapshot_records", have, "min_snapshot_ratio", ratio)
	return true, err
}
