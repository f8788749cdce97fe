package host

import (
	"slices"
	"testing"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr bool
	}{
		{"0/3", Shard{0, 3}, false},
		{"2/3", Shard{2, 3}, false},
		{" 1 / 2 ", Shard{1, 2}, false},
		{"0/1", Shard{0, 1}, false},
		{"3/3", Shard{}, true},
		{"-1/3", Shard{}, true},
		{"1/0", Shard{}, true},
		{"1", Shard{}, true},
		{"a/b", Shard{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseShard(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseShard(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestShardOfIsStable pins the hash: a change here moves sources between
// the pods of every deployment, so it must never happen by accident. The
// values are those of the documented Python one-liner.
func TestShardOfIsStable(t *testing.T) {
	tests := []struct {
		name     string
		of3, of7 int
	}{
		{"acme", 0, 2}, {"globex", 1, 2}, {"initech", 1, 1}, {"umbrella", 2, 0},
		{"hooli", 2, 2}, {"stark", 1, 5}, {"wayne", 2, 4},
	}
	for _, tt := range tests {
		if got := ShardOf(tt.name, 3); got != tt.of3 {
			t.Errorf("ShardOf(%q, 3) = %d, want %d", tt.name, got, tt.of3)
		}
		if got := ShardOf(tt.name, 7); got != tt.of7 {
			t.Errorf("ShardOf(%q, 7) = %d, want %d", tt.name, got, tt.of7)
		}
		if got := ShardOf(tt.name, 1); got != 0 {
			t.Errorf("ShardOf(%q, 1) = %d, want 0", tt.name, got)
		}
	}
}

func TestPlanShardsCoversEverySourceOnce(t *testing.T) {
	c := &Config{}
	for _, n := range []string{"acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne"} {
		c.Sources = append(c.Sources, SourceConfig{Name: n})
	}
	for n := 1; n <= 5; n++ {
		p, err := PlanShards(c, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Shards) != n {
			t.Fatalf("%d shards, want %d", len(p.Shards), n)
		}
		seen := map[string]int{}
		for i, s := range p.Shards {
			if want := (Shard{i, n}).String(); s.Shard != want {
				t.Errorf("shard %d is %q, want %q", i, s.Shard, want)
			}
			for _, name := range s.Sources {
				seen[name]++
				if !(Shard{i, n}).Has(name) {
					t.Errorf("plan puts %s in %s but Shard.Has disagrees", name, s.Shard)
				}
			}
		}
		for _, src := range c.Sources {
			if seen[src.Name] != 1 {
				t.Errorf("n=%d: %s is in %d shards, want 1", n, src.Name, seen[src.Name])
			}
		}
	}
	if _, err := PlanShards(c, 0); err == nil {
		t.Error("PlanShards(0) succeeded")
	}
	p, _ := PlanShards(&Config{}, 2)
	if !slices.EqualFunc(p.Shards, []ShardSources{{"0/2", []string{}}, {"1/2", []string{}}}, func(a, b ShardSources) bool {
		return a.Shard == b.Shard && len(a.Sources) == 0 && a.Sources != nil
	}) {
		t.Errorf("empty config: %+v", p.Shards)
	}
}
