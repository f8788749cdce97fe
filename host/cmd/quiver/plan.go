package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quiver-etl/quiver/host"
)

// newPlan is `quiver plan`: which shard runs which source.
func newPlan(g *globals) *cobra.Command {
	var config string
	var shards int
	cmd := &cobra.Command{
		Use:   "plan -c FILE --shards N",
		Short: "Print which sources each of N shards runs (quiver sync --shard I/N)",
		Long: `Print which sources each of N shards runs with quiver sync --shard I/N.

A source belongs to shard I when the first 8 bytes of the SHA-256 of its name,
read as a big-endian unsigned integer, are I modulo N: the assignment depends only
on the names, so every machine and every version computes the same one. Shards
count from 0, as a Kubernetes Indexed Job's JOB_COMPLETION_INDEX and an Airflow
task's map_index do. The unit is the source; to split a source with many streams,
list it more than once under different names, each with its own streams list.`,
		Args: exactArgs(0, "plan takes no arguments; the config file goes in -c FILE"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := host.LoadConfigWithoutSecrets(config)
			if err != nil {
				return err
			}
			p, err := host.PlanShards(cfg, shards)
			if err != nil {
				return &usageError{err.Error()}
			}
			if g.jsonOut {
				return printJSON(g.stdout, p)
			}
			printPlan(g.stdout, p)
			return nil
		},
	}
	configFlag(cmd, &config)
	cmd.Flags().IntVar(&shards, "shards", 1, "number of shards")
	return cmd
}

// printPlan writes one line per shard: its --shard value and its sources.
func printPlan(w io.Writer, p *host.ShardPlan) {
	for _, s := range p.Shards {
		names := strings.Join(s.Sources, " ")
		if names == "" {
			names = "(none)"
		}
		fmt.Fprintf(w, "--shard %s\t%s\n", s.Shard, names)
	}
}
