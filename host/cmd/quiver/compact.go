package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/host/sink"
)

func newCompact(g *globals) *cobra.Command {
	var path, maxFileSize string
	cmd := &cobra.Command{
		Use:   "compact -c FILE [SOURCE.STREAM ...]",
		Short: "Rewrite streams' files keeping only the latest version of each primary key",
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			fileBytes, err := parseSize(maxFileSize)
			if err != nil {
				return &usageError{fmt.Sprintf("--max-file-size %q: %v", maxFileSize, err)}
			}
			cfg, err := host.LoadConfigWithoutSecrets(path)
			if err != nil {
				return err
			}
			return g.compact(cmd.Context(), host.CompactOptions{
				Config: cfg, Streams: args, Logger: log, FileBytes: fileBytes, Files: wrapFiles(sink.OS{}),
			})
		},
	}
	configFlag(cmd, &path)
	cmd.Flags().StringVar(&maxFileSize, "max-file-size", "256MiB", "start a new output file past this size, e.g. 64MiB")
	return cmd
}

// compact runs host.Compact and prints its result.
func (g *globals) compact(ctx context.Context, opts host.CompactOptions) error {
	res, err := host.Compact(ctx, opts)
	if res != nil {
		if perr := g.printResult(res, func(w io.Writer) { printCompaction(w, res) }); perr != nil {
			return perr
		}
	}
	return err
}

// printCompaction writes the human table of a compaction.
func printCompaction(w io.Writer, res *host.CompactResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "SOURCE\tSTREAM\tSTATUS\tFILES BEFORE\tRECORDS BEFORE\tFILES AFTER\tRECORDS AFTER\t")
	for _, c := range res.Streams {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t\n", c.Source, c.Stream, c.Status, c.FilesBefore, c.RecordsBefore, c.FilesAfter, c.RecordsAfter)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ncompaction %s: %s\n", res.RunID, res.Status)
	for _, c := range res.Streams {
		switch {
		case c.Error != "":
			fmt.Fprintf(w, "  %s.%s: %s\n", c.Source, c.Stream, c.Error)
		case c.Reason != "":
			fmt.Fprintf(w, "  %s.%s: skipped: %s\n", c.Source, c.Stream, c.Reason)
		}
	}
}
