// Package state stores the incremental state of each source: per stream,
// the connector's opaque checkpoint, the part files whose rename is
// pending, and the replaced files still to be removed.
//
// Each source has one JSON file, <dir>/<source>.json (mode 0600, in a 0700
// directory), replaced atomically on every Save: written to a temporary
// file, fsynced, renamed, and the directory fsynced. Saving is the host's
// commit point: a saved Source records the new cursors together with the
// renames that publish the data they cover (see package sink).
//
//	{"version":1,"source":"acme","updated_at":"…",
//	 "owner":{"connector":"tracktik","account":"3f2a…","destination":"../out"},
//	 "streams":{"employees":{"state":{…},"mode":"incremental","run_id":"…","updated_at":"…"}},
//	 "pending":[{"temp":"…","final":"…","rows":1000,"bytes":52011}],
//	 "retire":["…/part-20261123T101500.042Z-1a2b3c-0001.parquet"]}
//
// A Store does not serialise access between processes by itself: a run
// holds the source's Lock while it loads and saves.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/quiver-etl/quiver/host/sink"
)

// Version is the state file format version this package reads and writes.
const Version = 1

const (
	fileExt  = ".json"
	lockExt  = ".lock"
	fileMode = 0o600 // state can reveal what was extracted and when
	dirMode  = 0o700
)

// Source is the saved state of one source.
type Source struct {
	// Version is the file format version; Save sets it to Version.
	Version int `json:"version"`
	// Source is the source name; Load sets it, Save checks it.
	Source string `json:"source"`
	// UpdatedAt is when the state was last saved; Save sets it.
	UpdatedAt time.Time `json:"updated_at"`
	// Owner says which configured source the state belongs to, so that two
	// configs sharing a state folder cannot use each other's cursors. State
	// written before owners were recorded has none: the host adopts it.
	Owner *Owner `json:"owner,omitempty"`
	// Streams maps stream names to their state. Load never returns a nil map.
	Streams map[string]*Stream `json:"streams"`
	// Pending lists the part files that were committed (this state covers
	// their rows) but may not be published yet: on startup the host
	// publishes those whose temporary file still exists, then clears them.
	// It uses sink.File, the value Part.Finish returns and Publish takes,
	// so the host stores and replays it without conversion.
	Pending []sink.File `json:"pending,omitempty"`
	// Retire lists published part files (absolute paths) that the commit
	// replaces: the previous snapshot of a full refresh, or the files a
	// compaction rewrote. They are removed after Pending is published;
	// on startup the host removes those still present, then clears both
	// lists, so that a crash never leaves the old and the new set side by
	// side.
	Retire []string `json:"retire,omitempty"`
	// Files lists the committed part files of a destination on an object
	// store, where an uploaded file is visible before its commit: a file
	// is the stream's only once a saved state lists it. Keys are relative
	// to the destination ("acme/employees/part-….parquet"). Empty for a
	// local destination, where a published name is the commit.
	Files []Object `json:"files,omitempty"`
	// Runs lists the latest runs of the source into an object-store
	// destination, each recorded before it uploads anything. A part file
	// that Files does not list was never committed if one of these runs
	// wrote it (its name starts with part-<run>-): the next run deletes
	// it. Part files of runs not listed here are never deleted, since the
	// state cannot tell them from data it lost track of.
	Runs []string `json:"runs,omitempty"`
}

// Clone returns a copy of src that a commit can change and save without
// touching src: its map and lists are copied; the Streams' entries and the
// Owner are shared, and are replaced, never changed in place.
func (src *Source) Clone() *Source {
	c := *src
	c.Streams = maps.Clone(src.Streams)
	if c.Streams == nil {
		c.Streams = map[string]*Stream{}
	}
	c.Pending = slices.Clone(src.Pending)
	c.Retire = slices.Clone(src.Retire)
	c.Files = slices.Clone(src.Files)
	c.Runs = slices.Clone(src.Runs)
	return &c
}

// Object is a committed part file of an object-store destination.
type Object struct {
	Key   string `json:"key"`   // relative to the destination, with slashes
	Rows  int64  `json:"rows"`  // records in the file
	Bytes int64  `json:"bytes"` // size of the file
}

// Owner identifies what a source's state belongs to. It holds no secret.
type Owner struct {
	// Connector is the source's connector.
	Connector string `json:"connector"`
	// Account is a fingerprint of the non-secret identity of the account
	// (its URLs and user or client ids); empty when the config has none.
	Account string `json:"account,omitempty"`
	// Destination is the output folder, relative to the state folder when
	// it can be (so that moving both together keeps the owner).
	Destination string `json:"destination"`
}

// Stream is the saved state of one stream.
type Stream struct {
	// State is the connector's checkpoint, opaque to the host.
	State json.RawMessage `json:"state,omitempty"`
	// Mode is the sync mode the state was produced by ("incremental",
	// "full_refresh"). An incremental run resumes from either: the state
	// of a completed full refresh covers the whole snapshot its files hold.
	Mode string `json:"mode,omitempty"`
	// RunID is the run that saved the state.
	RunID string `json:"run_id,omitempty"`
	// UpdatedAt is when the stream's state last changed.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Schema identifies the Arrow schema of the stream's last committed
	// files (a hash), so that a run can say when the vendor's schema changed.
	Schema string `json:"schema,omitempty"`
	// PrimaryKey names the columns that identify a record of the stream,
	// as its catalog declared them when the state was saved; `quiver
	// compact` keeps the latest version of each key.
	PrimaryKey []string `json:"primary_key,omitempty"`
}

// Store reads and writes state files in one directory. Its methods are
// safe for concurrent use on different sources; a source is saved by one
// run at a time (see Lock).
type Store struct {
	dir string
	now func() time.Time // the clock; tests replace it
	obj *objects         // set when the state is on an object store (see OpenLocation)
}

// Open returns the store in dir, creating dir with mode 0700 if needed.
// The mode of an existing directory is left alone.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("state: open %s: %w", dir, err)
	}
	return &Store{dir: dir, now: time.Now}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Path returns the path of source's state file; on an object store, the
// location of its state objects.
func (s *Store) Path(source string) string {
	if s.obj != nil {
		return s.obj.bs.String() + "/" + source + "/state/"
	}
	return filepath.Join(s.dir, source+fileExt)
}

// ValidateName reports whether name can be a source name: not empty, no
// path separators, no "..", no leading dot and no control characters.
func ValidateName(name string) error {
	switch {
	case name == "":
		return errors.New("state: empty source name")
	case strings.ContainsAny(name, `/\`) || strings.Contains(name, ".."):
		return fmt.Errorf("state: invalid source name %q: no path separators or \"..\"", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("state: invalid source name %q: no leading dot", name)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("state: invalid source name %q: no control characters", name)
	}
	return nil
}

// Load returns source's state. A missing file is not an error: it returns
// an empty Source (no streams) that Save can write. A file that cannot be
// parsed is an error naming the file and how to recover.
func (s *Store) Load(source string) (*Source, error) {
	if err := ValidateName(source); err != nil {
		return nil, err
	}
	path := s.Path(source)
	var data []byte
	var seq uint64
	var err error
	if s.obj != nil {
		seq, data, err = s.obj.load(source)
		if err == nil {
			s.obj.loaded(source, seq)
		}
		if err == nil && data == nil {
			err = fs.ErrNotExist
		}
	} else {
		data, err = os.ReadFile(path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return &Source{Version: Version, Source: source, Streams: map[string]*Stream{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: load source %q: %w", source, err)
	}
	var src Source
	if err := json.Unmarshal(data, &src); err != nil {
		return nil, corrupt(path, source, err)
	}
	switch {
	case src.Version == 0:
		return nil, corrupt(path, source, errors.New("no version"))
	case src.Version > Version:
		return nil, fmt.Errorf("state: %s has format version %d; this quiver reads version %d: upgrade quiver", path, src.Version, Version)
	case src.Source != source:
		return nil, corrupt(path, source, fmt.Errorf("it holds the state of source %q", src.Source))
	}
	for name, st := range src.Streams {
		if st == nil {
			return nil, corrupt(path, source, fmt.Errorf("stream %q is null", name))
		}
		// Save indents the file for people who read it; connectors get
		// their checkpoint back compact, as they wrote it.
		if len(st.State) > 0 {
			var buf bytes.Buffer
			if err := json.Compact(&buf, st.State); err != nil {
				return nil, corrupt(path, source, fmt.Errorf("stream %q: %w", name, err))
			}
			st.State = buf.Bytes()
		}
	}
	if src.Streams == nil {
		src.Streams = map[string]*Stream{}
	}
	return &src, nil
}

// ErrCorrupt is wrapped by the errors of state files that cannot be used:
// a person must fix or reset them.
var ErrCorrupt = errors.New("corrupt state file")

// corrupt returns the error for a state file that cannot be used. Its hint
// pairs the reset with a full refresh: after a reset alone, an incremental
// run would append every record again to the files already written.
func corrupt(path, source string, err error) error {
	return fmt.Errorf("state: %s: %w: %w (fix the file, or start the source over: run \"quiver state reset %s\", "+
		"then \"quiver sync --full-refresh\", which replaces the files written so far instead of appending to them)", path, ErrCorrupt, err, source)
}

// Save writes src atomically: after a crash the file holds either the old
// or the new state, never a mix. It sets src.Version and src.UpdatedAt.
// On an object store it creates the state object after the one this Store
// last loaded or saved for the source: if another run saved the source's
// state since, or took over its lock, it fails with an error wrapping
// ErrConflict and saves nothing.
func (s *Store) Save(src *Source) error {
	if src == nil {
		return errors.New("state: save: nil source")
	}
	if err := ValidateName(src.Source); err != nil {
		return err
	}
	if src.Version != 0 && src.Version != Version {
		return fmt.Errorf("state: save source %q: cannot write format version %d", src.Source, src.Version)
	}
	for name, st := range src.Streams {
		if st == nil {
			return fmt.Errorf("state: save source %q: stream %q is nil", src.Source, name)
		}
	}
	out := *src
	out.Version = Version
	out.UpdatedAt = s.now().UTC()
	if out.Streams == nil {
		out.Streams = map[string]*Stream{}
	}
	data, err := marshal(&out)
	if err != nil {
		return fmt.Errorf("state: save source %q: %w", src.Source, err)
	}
	if s.obj != nil {
		if err := s.obj.save(src.Source, data); err != nil {
			return err
		}
	} else if err := sink.WriteFile(s.Path(src.Source), data, fileMode); err != nil {
		return fmt.Errorf("state: save source %q: %w", src.Source, err)
	}
	src.Version, src.UpdatedAt = out.Version, out.UpdatedAt
	return nil
}

// Reset deletes state so that the next run extracts from the start: the
// named streams of source, or with no streams the whole source. A whole
// source's reset keeps only what describes an object-store destination's
// files, Files and Runs (read even from a state that is otherwise
// corrupt): those files are still the destination's, and a run that
// found none listed could not tell them from uncommitted ones. When there
// is nothing to keep, a local state file is removed, pending renames
// included. Names without state are ignored. Reset does not take the
// lock; a caller that may race a run holds it.
func (s *Store) Reset(source string, streams ...string) error {
	if err := ValidateName(source); err != nil {
		return err
	}
	if len(streams) == 0 {
		return s.resetSource(source)
	}
	src, err := s.Load(source)
	if err != nil {
		return err
	}
	changed := false
	for _, name := range streams {
		if _, ok := src.Streams[name]; ok {
			delete(src.Streams, name)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return s.Save(src)
}

// resetSource resets the whole of source's state (see Reset).
func (s *Store) resetSource(source string) error {
	var data []byte
	var err error
	if s.obj != nil {
		var seq uint64
		seq, data, err = s.obj.load(source)
		if err == nil {
			s.obj.loaded(source, seq)
		}
	} else if data, err = os.ReadFile(s.Path(source)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state: reset source %q: %w", source, err)
	}
	if data == nil {
		return nil
	}
	var kept struct {
		Files []Object `json:"files"`
		Runs  []string `json:"runs"`
	}
	_ = json.Unmarshal(data, &kept)
	if s.obj != nil || len(kept.Files) > 0 || len(kept.Runs) > 0 {
		// State objects are never deleted while they decide anything: the
		// reset is a new state with no streams.
		return s.Save(&Source{Source: source, Files: kept.Files, Runs: kept.Runs})
	}
	err = os.Remove(s.Path(source))
	if err == nil {
		err = sink.SyncDir(s.dir)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state: reset source %q: %w", source, err)
	}
	return nil
}

// Sources returns the names of the sources that have state, sorted.
func (s *Store) Sources() ([]string, error) {
	if s.obj != nil {
		return s.obj.sources()
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("state: list sources: %w", err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), fileExt)
		if !ok || !e.Type().IsRegular() || ValidateName(name) != nil {
			continue
		}
		names = append(names, name)
	}
	return names, nil
}
