package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// shardSources are seven source names; their shards of 3 are pinned by
// host.TestShardOfIsStable (acme 0, globex 1, initech 1, umbrella 2,
// hooli 2, stark 1, wayne 2).
var shardSources = []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne"}

// shardedConfig is a config of one TrackTik source per name, all reading
// two streams from srv, writing under out.
func shardedConfig(srv *tracktiksim.Server, names []string, out string) string {
	var b strings.Builder
	b.WriteString("sources:\n")
	for _, n := range names {
		b.WriteString(trackTikSource(n, srv.URL, "    streams: [employees, clients]\n"))
	}
	return b.String() + destinationAt(out)
}

// TestShard_UnionEqualsSingleRun runs a config of seven sources as three
// shards, each in its own folders as pods that share no disk would: every
// source runs in exactly one shard, as plan said, and the union of the
// three outputs holds the same rows as one unsharded run.
func TestShard_UnionEqualsSingleRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 12, Counts: map[string]int{"employees": 120, "clients": 30}})
	tmp := t.TempDir()

	// plan --shards 3 --json
	planCfg := writeConfig(t, filepath.Join(tmp), shardedConfig(srv, shardSources, filepath.Join(tmp, "plan")))
	r := quiver(ctx, t, nil, "plan", "-c", planCfg, "--shards", "3", "--json")
	if r.code != 0 {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	var plan struct {
		Shards []struct {
			Shard   string   `json:"shard"`
			Sources []string `json:"sources"`
		} `json:"shards"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, r.stdout)
	}
	if len(plan.Shards) != 3 {
		t.Fatalf("plan has %d shards, want 3:\n%s", len(plan.Shards), r.stdout)
	}

	// Each shard in its own folders.
	ran := map[string]int{}
	for i, sh := range plan.Shards {
		out := filepath.Join(tmp, fmt.Sprintf("shard%d", i))
		cfg := writeConfig(t, mkdir(t, out), shardedConfig(srv, shardSources, out))
		r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "--shard", sh.Shard, "--parallel", "2", "--json", "--log-level", "warn")
		if r.code != 0 {
			t.Fatalf("sync --shard %s: exit %d\n%s", sh.Shard, r.code, r.stderr)
		}
		var res struct {
			Sources []struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			} `json:"sources"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("sync --json: %v\n%s", err, r.stdout)
		}
		var names []string
		for _, s := range res.Sources {
			names = append(names, s.Name)
			ran[s.Name]++
			if s.Status != "ok" {
				t.Errorf("shard %s: source %s: %s", sh.Shard, s.Name, s.Status)
			}
		}
		if !slices.Equal(names, sh.Sources) {
			t.Errorf("shard %s ran %v, plan said %v", sh.Shard, names, sh.Sources)
		}
		// Nothing of another shard's sources was written.
		for _, n := range shardSources {
			_, err := os.Stat(filepath.Join(out, "data", n))
			if written := err == nil; written != slices.Contains(sh.Sources, n) {
				t.Errorf("shard %s: output of %s exists = %v", sh.Shard, n, written)
			}
		}
	}
	for _, n := range shardSources {
		if ran[n] != 1 {
			t.Errorf("source %s ran in %d shards, want exactly 1", n, ran[n])
		}
	}

	// One unsharded run.
	single := filepath.Join(tmp, "single")
	cfg := writeConfig(t, mkdir(t, single), shardedConfig(srv, shardSources, single))
	if r := quiver(ctx, t, trackTikEnv, "sync", "-c", cfg, "-q"); r.code != 0 {
		t.Fatalf("unsharded sync: exit %d\n%s", r.code, r.stderr)
	}
	for _, n := range shardSources {
		sh := fmt.Sprintf("shard%d", shardOfPlan(t, plan.Shards, n))
		for _, stream := range []string{"employees", "clients"} {
			got := rowKeys(t, filepath.Join(tmp, sh, "data", n, stream))
			want := rowKeys(t, filepath.Join(single, "data", n, stream))
			if len(want) != srv.Count(stream) {
				t.Errorf("unsharded %s.%s: %d rows, want %d", n, stream, len(want), srv.Count(stream))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s.%s: sharded output differs from the unsharded one (%d rows against %d)", n, stream, len(got), len(want))
			}
		}
	}
}

// shardOfPlan returns the index of the shard that plan gives source.
func shardOfPlan(t *testing.T, shards []struct {
	Shard   string   `json:"shard"`
	Sources []string `json:"sources"`
}, source string) int {
	t.Helper()
	for i, s := range shards {
		if slices.Contains(s.Sources, source) {
			return i
		}
	}
	t.Fatalf("source %s is in no shard", source)
	return -1
}

// rowKeys returns a stream's rows as sorted JSON texts, without the
// lineage columns that differ between runs, nor the columns drop names.
func rowKeys(t *testing.T, dir string, drop ...string) []string {
	t.Helper()
	var keys []string
	for _, row := range readStream(t, dir).rows {
		delete(row, sink.ExtractedAtColumn)
		delete(row, sink.RunIDColumn)
		for _, c := range drop {
			delete(row, c)
		}
		b, err := json.Marshal(row)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, string(b))
	}
	slices.Sort(keys)
	return keys
}

// quiverCmd is the built quiver binary's command with env added.
func quiverCmd(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "quiver"), args...)
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

func mkdir(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// BenchmarkParallel syncs four sources, each against its own simulator
// that holds every answer 50 ms (15 pages of 20 records per source), one
// after another and four at once.
//
//	go test -run '^$' -bench Parallel -benchtime 3x ./host/e2e/
func BenchmarkParallel(b *testing.B) {
	for _, parallel := range []int{1, 4} {
		b.Run(fmt.Sprintf("parallel=%d", parallel), func(b *testing.B) {
			var cfg strings.Builder
			cfg.WriteString("sources:\n")
			for i := range 4 {
				srv := tracktiksim.NewServer(b, tracktiksim.Options{
					Seed:   uint64(i + 1),
					Counts: map[string]int{"employees": 250, "clients": 40},
					Faults: fault.Options{Latency: 50 * time.Millisecond},
				})
				cfg.WriteString(trackTikSource(fmt.Sprintf("tenant%d", i), srv.URL, "      page_size: 20\n    streams: [employees, clients]\n"))
			}
			for b.Loop() {
				dir := b.TempDir()
				text := cfg.String() + destinationAt(dir)
				path := filepath.Join(dir, "quiver.yaml")
				if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
					b.Fatal(err)
				}
				cmd := quiverCmd(context.Background(), trackTikEnv, "sync", "-c", path, "-q", "--parallel", fmt.Sprint(parallel))
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("sync --parallel %d: %v\n%s", parallel, err, out)
				}
			}
		})
	}
}
