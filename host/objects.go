package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/quiver-etl/quiver/host/blobstore"
	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// destination is where a run's part files go: a local folder, or an
// object store. Parts for an object store are written to a local staging
// folder first, under the same relative names, and uploaded under their
// final keys when they are committed (see commitObjects).
type destination struct {
	// root is the local folder parts are written under: the destination
	// folder, or the staging folder of an object store.
	root string
	// store is the object store; nil for a local folder.
	store *blobstore.Store
}

// objectTimeout bounds one upload, download or delete in a commit. Like
// state saves, commits do not take the run's context: one that has begun
// when the run is interrupted completes.
const objectTimeout = 10 * time.Minute

// openDestination opens the configured destination. close removes an
// object store's staging folder and closes its connections.
func openDestination(ctx context.Context, location string) (d *destination, closeFn func() error, err error) {
	if !isObjectStore(location) {
		return &destination{root: location}, func() error { return nil }, nil
	}
	store, err := blobstore.Open(ctx, location)
	if err != nil {
		return nil, nil, fmt.Errorf("destination: %w", err)
	}
	staging, err := os.MkdirTemp("", "quiver-staging-")
	if err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("destination: staging folder: %w", err)
	}
	return &destination{root: staging, store: store}, func() error {
		return errors.Join(os.RemoveAll(staging), store.Close())
	}, nil
}

// isObjectStore reports whether a destination or state location is an
// object-store URL (file:// URLs are turned into paths when a config is
// read).
func isObjectStore(location string) bool {
	return blobstore.IsURL(location) && !strings.HasPrefix(strings.ToLower(location), "file://")
}

// remote reports whether the destination is an object store.
func (d *destination) remote() bool { return d.store != nil }

// key returns the object key of a path under root.
func (d *destination) key(p string) (string, error) {
	rel, err := filepath.Rel(d.root, p)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("destination: %s is not under the staging folder %s", p, d.root)
	}
	return filepath.ToSlash(rel), nil
}

// path returns the local path of an object key, under root.
func (d *destination) path(key string) string { return filepath.Join(d.root, filepath.FromSlash(key)) }

// name returns what results and logs show for a part file: its path, or
// on an object store its key under the destination URL.
func (d *destination) name(p string) string {
	if !d.remote() {
		return p
	}
	key, err := d.key(p)
	if err != nil {
		return p
	}
	return strings.TrimSuffix(urlWithoutQuery(d.store.String()), "/") + "/" + key
}

// urlWithoutQuery drops a URL's query (the endpoint and other driver
// options), which is not part of where the data is.
func urlWithoutQuery(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}

// objectFiles implements sink.Files on an object store: Publish uploads a
// finished staging file under its final key, and Remove deletes the key.
type objectFiles struct{ d *destination }

// Publish uploads f.Temp to the key of f.Final and removes f.Temp. A file
// whose temporary file is gone was uploaded before (a full refresh
// uploads its parts as they are finished) if its object exists; if
// neither does, its records are lost and Publish fails.
func (o objectFiles) Publish(f *sink.File) error {
	key, err := o.d.key(f.Final)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	file, err := os.Open(f.Temp)
	if errors.Is(err, fs.ErrNotExist) {
		ok, serr := o.d.store.Exists(ctx, key)
		if serr != nil {
			return serr
		}
		if !ok {
			return fmt.Errorf("the staging file %s is gone and %s was never uploaded: %w", f.Temp, key, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer file.Close()
	if _, err := o.d.store.Upload(ctx, key, file); err != nil {
		return err
	}
	return os.Remove(f.Temp)
}

// Remove deletes the object of path; a missing object is not an error.
func (o objectFiles) Remove(p string) error {
	key, err := o.d.key(p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	return o.d.store.Delete(ctx, key)
}

var _ sink.Files = objectFiles{}

// commitObjects is the commit protocol on an object store, where there is
// no rename: an uploaded object is visible at once.
//
//  1. The files to publish are finished staging files, and st already
//     holds the streams' new state. st is the caller's copy: when the
//     commit point is not passed, it is to be dropped (see publish).
//  2. Each file is uploaded under its final key. It is visible, but not
//     committed: no saved state lists it.
//  3. st is saved with the files added to st.Files and the files they
//     replace (retire) taken out: a new state object, created only if no
//     other run saved one since st was loaded. This is the commit point.
//  4. The source's file list, <source>/_files.json in the destination, is
//     rewritten from st.Files (see writeFileList).
//  5. The retired objects are deleted.
//
// A crash before step 3 leaves uploads no state lists, and a crash after
// it leaves retired objects still present or a stale file list; the next
// run rewrites the file list from the latest state and then deletes every
// part object under the source that the state does not list
// (recoverObjects). A file leaves the file list before it is deleted and
// enters it only once committed, so a reader of the file list never sees
// uncommitted data; it may find a listed file deleted by a later replace,
// and then reads the file list again.
//
// committed reports whether the commit point was passed (see commitFiles).
func commitObjects(store *state.Store, d *destination, files sink.Files, st *state.Source, publish []sink.File, retire []string) (committed bool, err error) {
	add := make([]state.Object, 0, len(publish))
	for i := range publish {
		f := &publish[i]
		if err := files.Publish(f); err != nil {
			return false, fmt.Errorf("upload %s: %w", d.name(f.Final), err)
		}
		key, err := d.key(f.Final)
		if err != nil {
			return false, err
		}
		add = append(add, state.Object{Key: key, Rows: f.Rows, Bytes: f.Bytes})
	}
	drop := map[string]bool{}
	for _, p := range retire {
		key, err := d.key(p)
		if err != nil {
			return false, err
		}
		drop[key] = true
	}
	st.Files = append(slices.DeleteFunc(st.Files, func(o state.Object) bool { return drop[o.Key] }), add...)
	if err := saveState(store, st, "save state"); err != nil {
		return false, err
	}
	if err := writeFileList(d, st); err != nil {
		return true, err
	}
	for _, p := range retire {
		if err := files.Remove(p); err != nil {
			return true, fmt.Errorf("remove replaced file %s: %w", d.name(p), err)
		}
	}
	return true, nil
}

// fileListName is the name of a source's file list in an object-store
// destination: <source>/_files.json.
const fileListName = "_files.json"

// FileList is the content of <source>/_files.json in an object-store
// destination: the committed part files of each stream, as of the latest
// commit. It is what readers use to find a source's data while runs may
// be writing (see docs/object-stores.md).
type FileList struct {
	Source    string    `json:"source"`
	UpdatedAt time.Time `json:"updated_at"`
	// Streams maps each stream to its committed files, in commit order.
	Streams map[string][]state.Object `json:"streams"`
}

// writeFileList rewrites the source's file list from st.Files. A put
// replaces the object whole: readers see the old list or the new one.
func writeFileList(d *destination, st *state.Source) error {
	fl := FileList{Source: st.Source, UpdatedAt: st.UpdatedAt, Streams: map[string][]state.Object{}}
	for _, o := range st.Files {
		_, rest, _ := strings.Cut(o.Key, "/")
		stream, _, _ := strings.Cut(rest, "/")
		fl.Streams[stream] = append(fl.Streams[stream], o)
	}
	b, err := json.MarshalIndent(fl, "", "  ")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	if err := d.store.Put(ctx, path.Join(st.Source, fileListName), append(b, '\n')); err != nil {
		return fmt.Errorf("write the file list: %w", err)
	}
	return nil
}

// recoverObjects finishes what a crashed run of a source left on an
// object store, before anything else touches it: the file list is
// rewritten from the latest state, then every part object under the
// source that the state does not list and that one of the state's Runs
// wrote (an upload that was never committed, or a replaced file not yet
// deleted) is deleted. A part file that no recorded run wrote is left
// alone, since nothing proves it uncommitted: the state may have lost
// track of it. When the state lists no file and records no run at all
// (it is missing, was moved, or `state:` changed) while the destination
// holds part files, recoverObjects refuses, with an error wrapping
// protocol.ErrConfig, and changes nothing. The caller holds the source's
// lock.
func recoverObjects(d *destination, files sink.Files, st *state.Source, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	objs, err := d.store.List(ctx, st.Source+"/")
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	listed := map[string]bool{}
	for _, o := range st.Files {
		listed[o.Key] = true
	}
	var stale, unknown []string
	for _, o := range objs {
		base := path.Base(o.Key)
		if listed[o.Key] || !strings.HasPrefix(base, "part-") {
			continue
		}
		if slices.ContainsFunc(st.Runs, func(run string) bool { return strings.HasPrefix(base, "part-"+run+"-") }) {
			stale = append(stale, o.Key)
		} else {
			unknown = append(unknown, o.Key)
		}
	}
	if len(unknown) > 0 && len(st.Files) == 0 && len(st.Runs) == 0 {
		return fmt.Errorf("the destination holds %d part files of the source (%s, …) but its state has no record of them: "+
			"the state is missing, was moved, or state: names a new location; nothing was changed. "+
			"Point state: at the state that lists them; or, to start the source over, delete or move %s/ first: %w",
			len(unknown), d.name(d.path(unknown[0])), d.name(d.path(st.Source)), protocol.ErrConfig)
	}
	if err := writeFileList(d, st); err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	for _, key := range stale {
		if err := files.Remove(d.path(key)); err != nil {
			return fmt.Errorf("recover: remove %s: %w", key, err)
		}
		log.Info("removed an uncommitted file left by an interrupted run", "file", d.name(d.path(key)))
	}
	if len(unknown) > 0 {
		log.Warn("left alone part files that the state does not list and that no run it records wrote: "+
			"they may be data of a state that was lost; readers of the file list do not see them",
			"files", len(unknown), "first", d.name(d.path(unknown[0])))
	}
	return nil
}

// keepRuns is how many runs of a source into an object store its state
// records (state.Source.Runs): an upload of an older run that no state
// lists is left alone.
const keepRuns = 16

// recordRun records the run in the source's state before it uploads
// anything to an object store, so that the next run can tell this run's
// uncommitted uploads from committed files (see recoverObjects).
func (s *sourceRun) recordRun() error {
	next := s.st.Clone()
	next.Runs = append(next.Runs, s.opts.RunID)
	next.Runs = next.Runs[max(0, len(next.Runs)-keepRuns):]
	if err := saveState(s.store, next, "record the run in the state"); err != nil {
		return err
	}
	s.st = next
	return nil
}

// saveState saves st; what says what for in the error. A conflict means
// another run has the source now: this one stops, and a scheduler retries
// it later (exit code 75).
func saveState(store *state.Store, st *state.Source, what string) error {
	err := store.Save(st)
	if errors.Is(err, state.ErrConflict) {
		return fmt.Errorf("%s: %w; this run stops: %w", what, err, protocol.ErrTemporary)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// committedFiles returns the committed part files of a stream on an object
// store, leaving out the names that start with except (see partFiles), as
// local paths under root, and their records.
func committedFiles(d *destination, st *state.Source, source, stream, except string) (paths []string, rows int64) {
	prefix := source + "/" + stream + "/"
	for _, o := range st.Files {
		if !strings.HasPrefix(o.Key, prefix) || (except != "" && strings.HasPrefix(path.Base(o.Key), except)) {
			continue
		}
		paths = append(paths, d.path(o.Key))
		rows += o.Rows
	}
	return paths, rows
}

// putManifest writes a run's manifest to _runs/<run>.json on an object
// store.
func putManifest(d *destination, runID string, data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), objectTimeout)
	defer cancel()
	return d.store.Put(ctx, "_runs/"+runID+".json", data)
}
