package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

func TestExitCode(t *testing.T) {
	t.Parallel()
	locked := fmt.Errorf("%w; try again: %w", &state.LockedError{Source: "acme"}, protocol.ErrTemporary)
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{
		{"ok", nil, exitOK},
		{"failed", errors.New("boom"), exitFailed},
		{"usage", &usageError{"bad flag"}, exitUsage},
		{"config", fmt.Errorf("x: %w", protocol.ErrConfig), exitUsage},
		{"auth", fmt.Errorf("x: %w", protocol.ErrAuth), exitAuth},
		{"temporary", fmt.Errorf("x: %w", protocol.ErrTemporary), exitTemporary},
		{"state locked by another run", locked, exitTemporary},
		{"partial", &host.PartialError{Err: errors.New("one stream")}, exitPartial},
		{"interrupted", errors.Join(fmt.Errorf("interrupted: %w", protocol.ErrCanceled), errors.New("x")), exitInterrupted},
		{"context", context.Canceled, exitInterrupted},
	} {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%s: %v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestConsole(t *testing.T) {
	t.Parallel()
	var base, bars bytes.Buffer
	c := newConsole(&base)
	fmt.Fprint(c, "one\n")
	c.route(&bars)
	fmt.Fprint(c, "two\n")
	c.route(failing{})
	fmt.Fprint(c, "three\n") // the container has stopped: straight to the terminal
	c.route(nil)
	fmt.Fprint(c, "four\n")
	if got, want := base.String(), "one\nthree\nfour\n"; got != want {
		t.Errorf("terminal got %q, want %q", got, want)
	}
	if got, want := bars.String(), "two\n"; got != want {
		t.Errorf("bars got %q, want %q", got, want)
	}
	if isTerminal(c) || canDrawBars(c) {
		t.Error("a buffer is not a terminal")
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("done") }

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestStateCommands runs `quiver state` against a state folder written by
// the state package, without plugins or secrets.
func TestStateCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "quiver.yaml")
	// The state folder is relative to the config file's folder, not to
	// the working directory.
	text := "sources:\n  - name: acme\n    connector: tracktik\n    config: {password: \"${QUIVER_TEST_UNSET_PASSWORD}\"}\n" +
		"  - name: globex\n    connector: tracktik\nstate: ./state\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	run1 := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	if code, out, _ := run1("state", "show", "-c", cfg); code != 0 || !strings.Contains(out, "no state") {
		t.Errorf("state show without state: exit %d\n%s", code, out)
	}
	store, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	src, _ := store.Load("acme")
	src.Streams["employees"] = &state.Stream{State: []byte(`{"id":42}`), Mode: "incremental", RunID: "r1"}
	src.Streams["clients"] = &state.Stream{State: []byte(`{"id":7}`), Mode: "full_refresh", RunID: "r1"}
	if err := store.Save(src); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run1("state", "show", "-c", cfg)
	// show is the default.
	if code2, out2, _ := run1("state", "-c", cfg); code2 != code || out2 != out {
		t.Errorf("state -c FILE: exit %d\n%s\nwant as state show: exit %d\n%s", code2, out2, code, out)
	}
	rows := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		rows[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, want := range []string{
		"SOURCE STREAM MODE UPDATED RUN STATE",
		`acme clients full_refresh - r1 {"id":7}`,
		`acme employees incremental - r1 {"id":42}`,
		"globex - - - - no state: the next run reads everything",
	} {
		if code != 0 || !rows[want] {
			t.Errorf("state show: exit %d, no row %q\n%s%s", code, want, out, errOut)
		}
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"state"}, exitUsage, "show or reset"},
		{[]string{"state", "nosuch", "-c", cfg}, exitUsage, "show or reset"},
		{[]string{"state", "reset", "-c", cfg}, exitUsage, "needs a source name"},
		{[]string{"state", "reset", "initech", "-c", cfg}, exitUsage, `no source "initech"`},
		{[]string{"state", "reset", "acme", "shifts", "-c", cfg}, exitUsage, "has no state for shifts (it has: clients, employees)"},
		{[]string{"state", "reset", "acme", "employees", "-c", cfg}, exitOK, ""},
	} {
		code, _, errOut := run1(tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("quiver %s: exit %d %q, want %d %q", strings.Join(tt.args, " "), code, errOut, tt.code, tt.want)
		}
	}
	got, _ := store.Load("acme")
	if got.Streams["employees"] != nil || got.Streams["clients"] == nil {
		t.Errorf("after reset of employees: %v", got.Streams)
	}
	release, err := store.Lock("acme")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if code, _, errOut := run1("state", "reset", "acme", "-c", cfg); code != exitTemporary || !strings.Contains(errOut, "holds the lock") {
		t.Errorf("state reset while locked: exit %d %q, want 75", code, errOut)
	}
}

// TestParseVariant: --variant takes default (or nothing) and alt, which
// every simulator knows; anything else is a usage error.
func TestParseVariant(t *testing.T) {
	tests := []struct {
		in, want string
		usage    bool
	}{
		{"", "", false},
		{"default", "", false},
		{"alt", "alt", false},
		{"other", "", true},
	}
	for _, tt := range tests {
		got, err := parseVariant(tt.in)
		var ue *usageError
		if got != tt.want || errors.As(err, &ue) != tt.usage {
			t.Errorf("parseVariant(%q) = %q, %v; want %q, usage error %v", tt.in, got, err, tt.want, tt.usage)
		}
	}
	for _, s := range simulators() {
		run, err := s.start("127.0.0.1:0", simOptions{variant: variantAlt})
		if err != nil {
			t.Fatalf("%s simulator with variant %s: %v", s.connector, variantAlt, err)
		}
		run.close()
	}
}

// TestUsageErrors: mistakes on the command line exit 2 with a message,
// before anything starts.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"nosuch"}, `unknown command "nosuch"`},
		{[]string{"synk"}, "Did you mean this?"},
		{[]string{"demo", "--faults", "2"}, "--faults 2: want a share of requests between 0 and 1"},
		{[]string{"demo", "--faults", "-0.1"}, "--faults -0.1"},
		{[]string{"demo", "--faults", "NaN"}, "--faults NaN"},
		{[]string{"sim", "tracktik", "--faults", "1.5"}, "--faults 1.5"},
		{[]string{"sync", "--nosuch"}, "unknown flag: --nosuch"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), tt.args, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("quiver %s: exit %d %q, want %d %q", strings.Join(tt.args, " "), code, errOut.String(), exitUsage, tt.want)
		}
	}
}

// TestShardFlags checks that plan prints every source under its shard and
// that malformed --shard, --shards and --parallel values are usage errors.
func TestShardFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "quiver.yaml")
	text := "sources:\n"
	for _, n := range []string{"acme", "globex", "initech", "umbrella"} {
		text += "  - name: " + n + "\n    connector: none\n"
	}
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"plan", "-c", cfg, "--shards", "3"}, exitOK, "--shard 0/3\tacme\n--shard 1/3\tglobex initech\n--shard 2/3\tumbrella\n"},
		{[]string{"plan", "-c", cfg, "--shards", "2", "--json"}, exitOK, `"shard": "1/2"`},
		{[]string{"plan", "-c", cfg, "--shards", "0"}, exitUsage, "at least 1"},
		{[]string{"sync", "-c", cfg, "--shard", "3/3"}, exitUsage, "must be below 3"},
		{[]string{"sync", "-c", cfg, "--shard", "x"}, exitUsage, "want I/N"},
		{[]string{"sync", "-c", cfg, "--parallel", "0"}, exitUsage, "--parallel 0"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.contains) {
			t.Errorf("quiver %s: exit %d, want %d; output should contain %q:\n%s%s",
				strings.Join(tt.args, " "), code, tt.code, tt.contains, stdout.String(), stderr.String())
		}
	}
}

// TestPrintSummary_Drift: the summary table counts the rescued values of
// each stream, and a line after it names the keys and columns.
func TestPrintSummary_Drift(t *testing.T) {
	res := &host.Result{RunID: "r1", Status: "ok", Sources: []*host.SourceResult{{
		Name: "tv", Status: "ok", Streams: []*host.StreamResult{
			{Name: "sites", Status: "complete", Records: 10, Drift: &host.Drift{
				Rescued: 7, UnknownKeys: []string{"badge", "nickname"}, MismatchedColumns: []string{"site"},
			}},
			{Name: "apps", Status: "complete", Records: 3},
		},
	}}}
	var b bytes.Buffer
	printSummary(&b, res)
	out := b.String()
	for _, want := range []string{
		"RETRIES  RESCUED",
		"tv.sites: 7 values kept in _quiver_rescued; keys the schema lacks: badge, nickname; values that did not fit (the column is null): site\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "tv.apps:") {
		t.Errorf("summary has a drift line for a stream without drift:\n%s", out)
	}
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 2 && (f[1] == "sites" || f[1] == "apps") {
			rows = append(rows, f[1]+"="+f[len(f)-3]) // RESCUED, before AT ONCE and LIMIT WAIT S
		}
	}
	if strings.Join(rows, ",") != "sites=7,apps=0" {
		t.Errorf("RESCUED column = %v, want sites=7, apps=0:\n%s", rows, out)
	}
}

// TestPrintSummary_Concurrency: the summary shows the pages a stream had
// in flight at once and the time it waited on rate limits, "-" where the
// connector says nothing or nothing waited.
func TestPrintSummary_Concurrency(t *testing.T) {
	res := &host.Result{RunID: "r1", Status: "ok", Sources: []*host.SourceResult{{
		Name: "tt", Status: "ok", Streams: []*host.StreamResult{
			{Name: "employees", Status: "complete", Records: 10, Concurrency: 4, RateLimitWait: 12.34},
			{Name: "clients", Status: "complete", Records: 3},
		},
	}}}
	var b bytes.Buffer
	printSummary(&b, res)
	out := b.String()
	for _, want := range []string{"RESCUED  AT ONCE  LIMIT WAIT S", "0        4          12.3", "0        -             -"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
