package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk/connectortest"
	"github.com/quiver-etl/quiver/sdk/records"
)

// binDir holds the binaries TestMain builds.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "quiver-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Binary names by package: the host, every connector plugin and the
	// misbehaving test plugin.
	pkgs := map[string]string{"./host/cmd/quiver": "quiver", "./host/e2e/misbehave": "quiver-misbehave"}
	plugins, _ := filepath.Glob(filepath.Join(root, "connectors", "*", "cmd", "quiver-*"))
	for _, p := range plugins {
		rel, _ := filepath.Rel(root, p)
		pkgs["./"+rel] = filepath.Base(p)
	}
	for pkg, name := range pkgs {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, out)
			return 1
		}
	}
	// quiver-fault is quiver built with the quiverfault tag: it kills
	// itself at a chosen step of the commit protocol (QUIVER_TEST_KILL_AFTER).
	cmd := exec.Command("go", "build", "-tags", "quiverfault", "-o", filepath.Join(dir, "quiver-fault"), "./host/cmd/quiver")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build -tags quiverfault: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// result is what a quiver command did.
type result struct {
	code           int
	stdout, stderr string
}

// quiver runs the built quiver binary with args and env.
func quiver(ctx context.Context, t *testing.T, env []string, args ...string) result {
	t.Helper()
	_, done := startQuiver(ctx, t, env, args...)
	return <-done
}

// startQuiver starts the built quiver binary; its result arrives on the
// channel when it exits.
func startQuiver(ctx context.Context, t *testing.T, env []string, args ...string) (*exec.Cmd, <-chan result) {
	t.Helper()
	return startQuiverWith(ctx, t, func(*exec.Cmd) {}, env, args...)
}

// startQuiverWith is startQuiver with a hook that adjusts the command
// before it starts (its SysProcAttr, say).
func startQuiverWith(ctx context.Context, t *testing.T, adjust func(*exec.Cmd), env []string, args ...string) (*exec.Cmd, <-chan result) {
	t.Helper()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "quiver"), args...)
	cmd.Env = append(os.Environ(), env...)
	adjust(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start quiver: %v", err)
	}
	done := make(chan result, 1)
	go func() {
		err := cmd.Wait()
		r := result{stdout: stdout.String(), stderr: stderr.String(), code: -1}
		var exit *exec.ExitError
		switch {
		case err == nil:
			r.code = 0
		case errors.As(err, &exit):
			r.code = exit.ExitCode()
		default:
			r.stderr += "\nrun quiver: " + err.Error()
		}
		done <- r
	}()
	return cmd, done
}

// writeConfig writes a quiver config into dir and returns its path.
func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	path := filepath.Join(dir, "quiver.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// table is the rows of a stream read back from its Parquet files, by column.
type table struct {
	schema *arrow.Schema
	rows   []map[string]any
	files  int
}

// readStream reads every committed Parquet file of a stream directory.
func readStream(t *testing.T, dir string) *table {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	tb := &table{files: len(paths)}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, p := range paths {
		func() {
			f, err := file.OpenParquetFile(p, false)
			if err != nil {
				t.Fatalf("open %s: %v", p, err)
			}
			defer f.Close()
			fr, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{BatchSize: 4096}, mem)
			if err != nil {
				t.Fatalf("read %s: %v", p, err)
			}
			tbl, err := fr.ReadTable(context.Background())
			if err != nil {
				t.Fatalf("read %s: %v", p, err)
			}
			defer tbl.Release()
			if tb.schema == nil {
				tb.schema = tbl.Schema()
			}
			tr := array.NewTableReader(tbl, 4096)
			defer tr.Release()
			for tr.Next() {
				rec := tr.Record()
				for i := 0; i < int(rec.NumRows()); i++ {
					row := map[string]any{}
					for c, f := range rec.Schema().Fields() {
						row[f.Name] = connectortest.Value(rec.Column(c), i)
					}
					tb.rows = append(tb.rows, row)
				}
			}
		}()
	}
	return tb
}

// noneRescued checks that row has the rescue column (every stream of every
// connector has it) holding null, as a record the simulators serve by
// default has nothing to rescue, and removes it from row.
func noneRescued(t *testing.T, stream string, key any, row map[string]any) {
	t.Helper()
	v, ok := row[records.RescueColumn]
	if !ok || v != nil {
		t.Errorf("%s: %v: %s = %v (present: %v), want null", stream, key, records.RescueColumn, v, ok)
	}
	delete(row, records.RescueColumn)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// jsonRow converts a decoded JSON object (a simulator's record) into the
// values of fields as readStream returns them; each field is found by its
// JSON key (schemas.MetaJSON, else its name), structs and lists at any
// depth, scalars as convert does.
func jsonRow(t *testing.T, fields []arrow.Field, obj map[string]any) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, f := range fields {
		key := f.Name
		if k, ok := f.Metadata.GetValue(schemas.MetaJSON); ok {
			key = k
		}
		out[f.Name] = jsonValue(t, f.Type, obj[key])
	}
	return out
}

// jsonValue is jsonRow for one value of type dt.
func jsonValue(t *testing.T, dt arrow.DataType, v any) any {
	t.Helper()
	if v == nil {
		return nil
	}
	switch dt := dt.(type) {
	case *arrow.StructType:
		return jsonRow(t, dt.Fields(), v.(map[string]any))
	case *arrow.ListType:
		out := []any{}
		for _, e := range v.([]any) {
			out = append(out, jsonValue(t, dt.Elem(), e))
		}
		return out
	}
	return convert(t, dt, v)
}

// checkNoLeaks fails if any of secrets appears in the output or logs of
// results, or in a file below dir other than the config.
func checkNoLeaks(t *testing.T, dir string, secrets []string, results ...result) {
	t.Helper()
	for _, r := range results {
		for _, s := range secrets {
			if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
				t.Errorf("a secret (%.3s...) appears in quiver's output or logs", s)
			}
		}
	}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || filepath.Base(path) == "quiver.yaml" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("file %s holds a secret (%.3s...)", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
