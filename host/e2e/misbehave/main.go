// Command quiver-misbehave is a connector plugin built on the SDK that
// breaks the rules on purpose, so that the e2e tests can show the host
// holding its ground against a careless or hostile plugin. It contacts no
// vendor: every stream is generated, rows numbered from 1.
//
// Its source config chooses what goes wrong:
//
//	connector: misbehave
//	config:
//	  mode: bad_stream_names   # see the modes below; default normal
//	  streams: ["../../escaped"] # the catalog's stream names
//	  rows: 100                # rows per stream
//	  batch: 50                # rows per batch; a checkpoint follows each
//	  send_as: ../x            # message_names: the stream name in messages
//	  account: acme            # stands for the vendor account's identity
//	  pid_file: /tmp/x.pid     # hang: where to write the child's pid
//	  state_file: st/m.json    # break_state: the source's state file
//
// Modes:
//
//   - normal: an honest plugin; its streams support both sync modes and
//     resume from {"offset": N}.
//   - bad_stream_names: as normal, but the catalog defaults to the stream
//     name "../../escaped" (set streams to choose others).
//   - duplicate_streams: the catalog lists every stream twice.
//   - message_names: the catalog is honest, but every message of a read
//     names the stream send_as instead of the one requested.
//   - uncommitted_tail: each stream sends its rows with checkpoints, then one
//     more batch with no checkpoint after it, and then fails.
//   - break_state: after each stream's first checkpoint, waits until the
//     host has committed it to state_file, then puts a file where the state
//     folder was (moving the folder aside), so that every later save of the
//     state fails, as on a full or failing disk; then goes on as normal.
//   - hang: Read starts a child process that inherits the plugin's stdout
//     and stderr (the pipes to the host) and sleeps, writes the child's pid
//     to pid_file, then blocks, deaf to cancellation. The child sleeps
//     childSleep unless killed.
//
// A plugin learns its config only after the handshake and Spec, so what
// goes wrong before them is chosen by a file next to the binary,
// "<binary>.mode", holding one of these modes:
//
//   - hang: the plugin starts the same child and never answers the
//     handshake.
//   - wrong_name: Spec names the plugin "tracktik", whatever its file name.
//
// A new mode is one constant, one entry in modes and, where it changes how
// streams are read, a case in Read.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk"
)

func main() {
	if os.Getenv(childEnv) != "" {
		time.Sleep(childSleep)
		return
	}
	var c connector
	switch early() {
	case modeHang:
		if _, err := startChild(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		time.Sleep(childSleep) // never answer the handshake
		return
	case modeWrongName:
		c.name = "tracktik"
	}
	sdk.Serve(c)
}

// early returns the mode in "<binary>.mode", or "".
func early() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	b, err := os.ReadFile(exe + ".mode")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// childEnv marks the child process that mode hang starts.
const childEnv = "QUIVER_MISBEHAVE_CHILD"

// childSleep is how long the child holds the host's pipes unless killed:
// longer than any test waits, short enough not to linger for long on a
// machine where a failed test left it behind.
const childSleep = 5 * time.Minute

// startChild starts this binary again as a child that inherits the
// process's first stdout and stderr, the pipes to the host (go-plugin's
// Serve replaces os.Stdout and os.Stderr later), and sleeps. It returns
// the child's pid.
func startChild() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout, cmd.Stderr = os.NewFile(1, "stdout"), os.NewFile(2, "stderr")
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("misbehave: start child: %w", err)
	}
	return cmd.Process.Pid, nil
}

// The modes.
const (
	modeNormal          = "normal"
	modeBadStreamNames  = "bad_stream_names"
	modeDuplicate       = "duplicate_streams"
	modeMessageNames    = "message_names"
	modeUncommittedTail = "uncommitted_tail"
	modeHang            = "hang"
	modeBreakState      = "break_state"
	modeWrongName       = "wrong_name" // in "<binary>.mode" only: Spec has no config
)

// modes maps each mode to the catalog it has when streams is not set.
var modes = map[string][]string{
	modeNormal:          {"items"},
	modeBadStreamNames:  {"../../escaped"},
	modeDuplicate:       {"items"},
	modeMessageNames:    {"items"},
	modeUncommittedTail: {"items"},
	modeHang:            {"items"},
	modeBreakState:      {"items"},
}

// config is the plugin's source config.
type config struct {
	Mode    string   `json:"mode"`
	Streams []string `json:"streams"`
	Rows    int64    `json:"rows"`
	Batch   int64    `json:"batch"`
	SendAs  string   `json:"send_as"`
	Account string   `json:"account"` // unused: the host fingerprints it as an account id
	PIDFile string   `json:"pid_file"`
	// StateFile is the source's state file, for break_state.
	StateFile string `json:"state_file"`
}

// connector is the plugin; name is what Spec calls it, "misbehave" if
// empty.
type connector struct{ name string }

// Spec describes the plugin.
func (c connector) Spec() sdk.Spec {
	names := slices.Sorted(maps.Keys(modes))
	schema := fmt.Sprintf(`{"type":"object","properties":{"mode":{"enum":["%s"]},`+
		`"streams":{"type":"array","items":{"type":"string"}},"rows":{"type":"integer","minimum":0},`+
		`"batch":{"type":"integer","minimum":1},"send_as":{"type":"string"},"account":{"type":"string"},`+
		`"pid_file":{"type":"string"},"state_file":{"type":"string"}},"additionalProperties":false}`,
		strings.Join(names, `","`))
	return sdk.Spec{
		Name:         cmp.Or(c.name, "misbehave"),
		Version:      "0.0.0-test",
		Description:  "a test plugin that misbehaves on purpose",
		ConfigSchema: json.RawMessage(schema),
	}
}

// Open parses the config.
func (connector) Open(_ context.Context, raw []byte) (sdk.Source, error) {
	c := config{Mode: modeNormal, Rows: 100, Batch: 50, SendAs: "../../escaped"}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("misbehave: config: %w: %w", sdk.ErrConfig, err)
	}
	def, ok := modes[c.Mode]
	if !ok {
		return nil, fmt.Errorf("misbehave: unknown mode %q: %w", c.Mode, sdk.ErrConfig)
	}
	if c.Streams == nil {
		c.Streams = def
	}
	if c.Batch <= 0 {
		c.Batch = 50
	}
	return &source{cfg: c}, nil
}

// schema is every stream's schema.
var schema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

type source struct{ cfg config }

func (s *source) Check(context.Context) error { return nil }

func (s *source) Close() error { return nil }

func (s *source) Discover(context.Context) (*sdk.Catalog, error) {
	cat := &sdk.Catalog{}
	for _, n := range s.cfg.Streams {
		st := sdk.Stream{
			Name: n, Schema: schema, PrimaryKey: []string{"id"}, CursorField: "id",
			SyncModes: []sdk.SyncMode{sdk.Incremental, sdk.FullRefresh},
		}
		cat.Streams = append(cat.Streams, st)
		if s.cfg.Mode == modeDuplicate {
			cat.Streams = append(cat.Streams, st)
		}
	}
	return cat, nil
}

// offset is a stream's checkpoint.
type offset struct {
	Offset int64 `json:"offset"`
}

func (s *source) Read(ctx context.Context, req sdk.ReadRequest, w sdk.Writer) error {
	if s.cfg.Mode == modeHang {
		return s.hang()
	}
	for _, sr := range req.Streams {
		name := sr.Name
		if s.cfg.Mode == modeMessageNames {
			name = s.cfg.SendAs
		}
		if err := s.read(ctx, name, sr, w); err != nil {
			return err
		}
	}
	return nil
}

// read sends one stream's rows under name.
func (s *source) read(ctx context.Context, name string, sr sdk.StreamRequest, w sdk.Writer) error {
	var from offset
	if len(sr.State) > 0 && sr.Mode == sdk.Incremental {
		if err := json.Unmarshal(sr.State, &from); err != nil {
			return fmt.Errorf("misbehave: stream %s: state: %w", sr.Name, err)
		}
	}
	if err := w.Status(ctx, name, sdk.Status{State: sdk.Started}); err != nil {
		return err
	}
	next := from.Offset
	for next < s.cfg.Rows {
		n := min(s.cfg.Batch, s.cfg.Rows-next)
		if err := s.send(ctx, w, name, next, n); err != nil {
			return err
		}
		next += n
		cp, _ := json.Marshal(offset{Offset: next})
		if err := w.Checkpoint(ctx, name, cp); err != nil {
			return err
		}
		if s.cfg.Mode == modeBreakState && next == from.Offset+n {
			if err := s.breakState(ctx, next); err != nil {
				return err
			}
		}
	}
	if s.cfg.Mode == modeUncommittedTail {
		if err := s.send(ctx, w, name, next, s.cfg.Batch); err != nil {
			return err
		}
		return w.Status(ctx, name, sdk.Status{State: sdk.Failed,
			Err: errors.New("misbehave: failed after a batch no checkpoint covers")})
	}
	return w.Status(ctx, name, sdk.Status{State: sdk.Complete})
}

// breakState waits until the state file holds offset with no pending
// files, then replaces the state folder with a file.
func (s *source) breakState(ctx context.Context, offset int64) error {
	want := fmt.Sprintf(`"offset": %d`, offset)
	for {
		b, err := os.ReadFile(s.cfg.StateFile)
		if err == nil && strings.Contains(string(b), want) && !strings.Contains(string(b), `"pending"`) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	dir := filepath.Dir(s.cfg.StateFile)
	if err := os.Rename(dir, dir+".broken"); err != nil {
		return fmt.Errorf("misbehave: break state: %w", err)
	}
	return os.WriteFile(dir, []byte("not a folder\n"), 0o600)
}

// send writes rows first+1 .. first+n of stream name.
func (s *source) send(ctx context.Context, w sdk.Writer, name string, first, n int64) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	names := b.Field(1).(*array.StringBuilder)
	for i := first + 1; i <= first+n; i++ {
		ids.Append(i)
		names.Append(fmt.Sprintf("row %d", i))
	}
	rec := b.NewRecord()
	defer rec.Release()
	return w.WriteBatch(ctx, name, rec)
}

// hang starts the child, reports its pid and blocks for as long as the
// child sleeps, ignoring cancellation as a plugin stuck in a system call
// would.
func (s *source) hang() error {
	pid, err := startChild()
	if err != nil {
		return err
	}
	if s.cfg.PIDFile != "" {
		if err := os.WriteFile(s.cfg.PIDFile, []byte(strconv.Itoa(pid)), 0o600); err != nil {
			return fmt.Errorf("misbehave: pid file: %w", err)
		}
	}
	time.Sleep(childSleep)
	return errors.New("misbehave: hung for good")
}
