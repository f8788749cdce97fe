package host

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// A Shard selects the part of a config one process runs when N processes
// (the pods of a Kubernetes Indexed Job, the mapped tasks of an Airflow
// DAG) split it between them with no coordinator: shard Index of Count.
// Indexes count from 0, as JOB_COMPLETION_INDEX and Airflow's map_index do.
// The zero Shard runs everything.
//
// The unit of sharding is the source, because a source's streams share one
// state object and one lock: two shards reading streams of the same source
// would contend for its lock. To split a source with many streams, list it
// more than once under different names, each with its own streams list;
// every entry is then a unit of its own, with its own state and lock.
//
// A source belongs to shard ShardOf(name, Count): the first 8 bytes of the
// SHA-256 of its name, read as a big-endian unsigned integer, modulo Count.
// The rule depends only on the name, so it is the same on every machine
// and in every version of Quiver; in Python it is
// int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % n.
type Shard struct {
	Index, Count int
}

// ParseShard reads "I/N" (0 <= I < N).
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want I/N, e.g. 0/3", s)
	}
	idx, err1 := strconv.Atoi(strings.TrimSpace(i))
	count, err2 := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("shard %q: want I/N with whole numbers, e.g. 0/3", s)
	case count < 1:
		return Shard{}, fmt.Errorf("shard %q: the shard count must be at least 1", s)
	case idx < 0 || idx >= count:
		return Shard{}, fmt.Errorf("shard %q: the index counts from 0 and must be below %d", s, count)
	}
	return Shard{Index: idx, Count: count}, nil
}

// String returns "I/N", or "" for the zero Shard.
func (s Shard) String() string {
	if s.Count == 0 {
		return ""
	}
	return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
}

// Has reports whether the source named name belongs to the shard.
func (s Shard) Has(name string) bool {
	return s.Count <= 1 || ShardOf(name, s.Count) == s.Index
}

// ShardOf returns the shard, from 0 to n-1, of the source named name.
func ShardOf(name string, n int) int {
	if n <= 1 {
		return 0
	}
	sum := sha256.Sum256([]byte(name))
	return int(binary.BigEndian.Uint64(sum[:8]) % uint64(n))
}

// ShardPlan is the assignment of a config's sources to n shards, as
// `quiver plan --shards N` prints it.
type ShardPlan struct {
	Shards []ShardSources `json:"shards"`
}

// ShardSources is one shard of a ShardPlan.
type ShardSources struct {
	Shard   string   `json:"shard"`   // "I/N", the value of sync --shard
	Sources []string `json:"sources"` // in config order; never nil
}

// PlanShards assigns the config's sources to n shards.
func PlanShards(c *Config, n int) (*ShardPlan, error) {
	if n < 1 {
		return nil, fmt.Errorf("--shards %d: want at least 1", n)
	}
	p := &ShardPlan{Shards: make([]ShardSources, n)}
	for i := range p.Shards {
		p.Shards[i] = ShardSources{Shard: Shard{Index: i, Count: n}.String(), Sources: []string{}}
	}
	for _, s := range c.Sources {
		i := ShardOf(s.Name, n)
		p.Shards[i].Sources = append(p.Shards[i].Sources, s.Name)
	}
	return p, nil
}
