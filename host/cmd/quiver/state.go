package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/host/blobstore"
	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

func newState(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "state [-c FILE]",
		Short: "Show (the default) or reset the saved incremental state",
		Args:  exactArgs(0, "state takes a subcommand, show or reset, and the config file in -c FILE"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("config") {
				if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
					return &usageError{"state needs a config file (-c FILE; " + path + " does not exist) or a subcommand: show or reset"}
				}
			}
			return g.stateShow(cmd.Context(), path)
		},
	}
	configFlag(cmd, &path)
	cmd.AddCommand(newStateShow(g), newStateReset(g))
	return cmd
}

// sourceState is one source's state as `quiver state show --json` prints it.
type sourceState struct {
	Source    string        `json:"source"`
	Connector string        `json:"connector,omitempty"` // empty for state of a source no longer configured
	UpdatedAt *time.Time    `json:"updated_at,omitempty"`
	Streams   []streamState `json:"streams"`
	Pending   []string      `json:"pending,omitempty"` // files committed but not yet renamed into place
	Retire    []string      `json:"retire,omitempty"`  // files a commit replaced but not yet removed
	File      string        `json:"file"`
	Locked    *lockedBy     `json:"locked,omitempty"`
	raw       *state.Source // for the table
	cfg       *host.SourceConfig
}

// streamState is one stream's state.
type streamState struct {
	Stream    string          `json:"stream"`
	Mode      string          `json:"mode"`
	State     json.RawMessage `json:"state"`
	RunID     string          `json:"run_id"`
	UpdatedAt *time.Time      `json:"updated_at,omitempty"`
}

// lockedBy says that a run holds a source's lock.
type lockedBy struct {
	PID int `json:"pid,omitempty"`
}

func newStateShow(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "show [-c FILE]",
		Short: "Print each source's streams with their mode, state, run id and update time",
		Args:  exactArgs(0, "state show takes no arguments; the config file goes in -c FILE"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.stateShow(cmd.Context(), path)
		},
	}
	configFlag(cmd, &path)
	return cmd
}

// stateShow prints the state of the sources of the config file at path.
func (g *globals) stateShow(ctx context.Context, path string) error {
	cfg, err := host.LoadConfigWithoutSecrets(path)
	if err != nil {
		return err
	}
	states, err := loadStates(ctx, cfg)
	if err != nil {
		return err
	}
	if g.jsonOut {
		return printJSON(g.stdout, map[string]any{"state": cfg.State, "sources": states})
	}
	printStates(g, cfg, states)
	return nil
}

// loadStates reads the state of every configured source, then of sources
// that have state but are no longer configured. It creates nothing.
func loadStates(ctx context.Context, cfg *host.Config) ([]*sourceState, error) {
	out := []*sourceState{}
	if noLocalState(cfg) {
		for i := range cfg.Sources {
			sc := &cfg.Sources[i]
			out = append(out, &sourceState{Source: sc.Name, Connector: sc.Connector, Streams: []streamState{}, cfg: sc})
		}
		return out, nil
	}
	store, err := state.OpenLocation(ctx, cfg.State)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	names, err := store.Sources()
	if err != nil {
		return nil, err
	}
	add := func(name string, sc *host.SourceConfig) error {
		st, err := store.Load(name)
		if err != nil {
			return err
		}
		ss := &sourceState{Source: name, Streams: []streamState{}, File: store.Path(name), raw: st, cfg: sc}
		if sc != nil {
			ss.Connector = sc.Connector
		}
		if !st.UpdatedAt.IsZero() {
			ss.UpdatedAt = &st.UpdatedAt
		}
		for _, n := range slices.Sorted(maps.Keys(st.Streams)) {
			s := st.Streams[n]
			es := streamState{Stream: n, Mode: s.Mode, State: s.State, RunID: s.RunID}
			if !s.UpdatedAt.IsZero() {
				es.UpdatedAt = &s.UpdatedAt
			}
			ss.Streams = append(ss.Streams, es)
		}
		for _, f := range st.Pending {
			ss.Pending = append(ss.Pending, f.Final)
		}
		ss.Retire = st.Retire
		// A run holds the lock: try it without waiting, and let go at once.
		release, err := store.Lock(name)
		var le *state.LockedError
		switch {
		case errors.As(err, &le):
			ss.Locked = &lockedBy{PID: le.PID}
		case err == nil:
			_ = release()
		}
		out = append(out, ss)
		return nil
	}
	for i := range cfg.Sources {
		sc := &cfg.Sources[i]
		if !slices.Contains(names, sc.Name) {
			out = append(out, &sourceState{Source: sc.Name, Connector: sc.Connector, Streams: []streamState{}, File: store.Path(sc.Name), cfg: sc})
			continue
		}
		if err := add(sc.Name, sc); err != nil {
			return nil, err
		}
	}
	for _, n := range names {
		if !slices.ContainsFunc(cfg.Sources, func(s host.SourceConfig) bool { return s.Name == n }) {
			if err := add(n, nil); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// printStates writes the human table of `quiver state show`.
func printStates(g *globals, cfg *host.Config, states []*sourceState) {
	w := g.stdout
	fmt.Fprintf(w, "state: %s\n\n", cfg.State)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSTREAM\tMODE\tUPDATED\tRUN\tSTATE")
	for _, s := range states {
		name := s.Source
		if s.cfg == nil {
			name += " (not in config)"
		}
		if s.Locked != nil {
			name += " (a run holds it)"
		}
		if len(s.Streams) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\tno state: the next run reads everything\n", name)
		}
		for _, st := range s.Streams {
			updated := "-"
			if st.UpdatedAt != nil {
				updated = st.UpdatedAt.UTC().Format(time.RFC3339)
			}
			text := string(st.State)
			if text == "" {
				text = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, st.Stream, orNone(st.Mode), updated, orNone(st.RunID), text)
		}
	}
	tw.Flush()
	for _, s := range states {
		if len(s.Pending) > 0 {
			fmt.Fprintf(w, "\n%s: %d committed files wait to be renamed into place; the next run does it\n", s.Source, len(s.Pending))
		}
		if len(s.Retire) > 0 {
			fmt.Fprintf(w, "\n%s: %d replaced files wait to be removed; the next run does it\n", s.Source, len(s.Retire))
		}
	}
}

func newStateReset(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "reset SOURCE [STREAM...] -c FILE",
		Short: "Forget the saved state of a source, or of some of its streams, so that the next run reads them from the start",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{"state reset needs a source name, e.g. quiver state reset acme [employees]"}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := host.LoadConfigWithoutSecrets(path)
			if err != nil {
				return err
			}
			return g.stateReset(cmd.Context(), cfg, args[0], args[1:])
		},
	}
	configFlag(cmd, &path)
	return cmd
}

// stateReset resets source's state, or the named streams' state, holding
// the source's lock: it refuses while a run holds it.
func (g *globals) stateReset(ctx context.Context, cfg *host.Config, source string, streams []string) error {
	if err := state.ValidateName(source); err != nil {
		return &usageError{err.Error()}
	}
	if noLocalState(cfg) {
		return fmt.Errorf("state reset: no state in %s yet: %w", cfg.State, protocol.ErrConfig)
	}
	store, err := state.OpenLocation(ctx, cfg.State)
	if err != nil {
		return err
	}
	defer store.Close()
	configured := slices.ContainsFunc(cfg.Sources, func(s host.SourceConfig) bool { return s.Name == source })
	names, err := store.Sources()
	if err != nil {
		return err
	}
	if !configured && !slices.Contains(names, source) {
		return &usageError{fmt.Sprintf("state reset: no source %q in %s or in %s", source, cfg.File(), cfg.State)}
	}
	release, err := store.Lock(source)
	if err != nil {
		var le *state.LockedError
		if errors.As(err, &le) {
			return fmt.Errorf("%w; state reset refuses while it runs: try again when it has finished: %w", err, protocol.ErrTemporary)
		}
		return err
	}
	defer release()
	st, err := store.Load(source)
	if err != nil && len(streams) > 0 {
		return err // a corrupt file can still be reset as a whole
	}
	var missing []string
	for _, n := range streams {
		if st.Streams[n] == nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return &usageError{fmt.Sprintf("state reset: source %q has no state for %s (it has: %s)",
			source, strings.Join(missing, ", "), strings.Join(slices.Sorted(maps.Keys(st.Streams)), ", "))}
	}
	if err := store.Reset(source, streams...); err != nil {
		return err
	}
	if g.jsonOut {
		return printJSON(g.stdout, map[string]any{"source": source, "streams": streams, "reset": true})
	}
	what := "every stream"
	if len(streams) > 0 {
		what = strings.Join(streams, ", ")
	}
	fmt.Fprintf(g.stdout, "%s: state reset for %s; the next run reads from the start.\n", source, what)
	fmt.Fprintf(g.stdout, "Files already written stay: an incremental run appends to them (so records repeat); `quiver sync --full-refresh` replaces them instead.\n")
	return nil
}

// noLocalState reports whether the config's state is a local folder that
// does not exist yet (opening it would create it). State on an object
// store is opened as it is: an empty one lists no sources.
func noLocalState(cfg *host.Config) bool {
	if blobstore.IsURL(cfg.State) {
		return false
	}
	_, err := os.Stat(cfg.State)
	return errors.Is(err, fs.ErrNotExist)
}
