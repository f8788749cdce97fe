package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quiver-etl/quiver/host"
)

// globals are the flags every command takes.
type globals struct {
	pluginDir string
	logLevel  string
	logFormat string
	quiet     bool
	jsonOut   bool
	stdout    io.Writer
	stderr    io.Writer
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "quiver",
		Short:         "Sync vendor REST APIs into Parquet through connector plugins",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err.Error()} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.pluginDir, "plugin-dir", "", "folder holding quiver-<connector> plugins (also $"+host.PluginEnv+")")
	pf.StringVar(&g.logLevel, "log-level", "", "log level: debug, info, warn or error (default info; warn on a terminal, where progress bars and the summary tell the story)")
	pf.StringVar(&g.logFormat, "log-format", "", "log format on stderr: text or json (default text on a terminal, json otherwise)")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "no progress and no summary; errors only")
	pf.BoolVar(&g.jsonOut, "json", false, "print the result as one JSON object on stdout")
	root.AddCommand(newSpec(g), newCheck(g), newDiscover(g), newSync(g), newPlan(g), newCompact(g), newState(g), newDemo(g), newSim(g), newPlugins(g), newNew(g))
	return root
}

// logger builds the host logger from the flags.
func (g *globals) logger() (*slog.Logger, error) {
	var level slog.Level
	switch {
	case g.logLevel == "" && isTerminal(g.stderr):
		level = slog.LevelWarn
	case g.logLevel == "":
		level = slog.LevelInfo
	default:
		if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
			return nil, &usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", g.logLevel)}
		}
	}
	if g.quiet && level < slog.LevelError {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	format := g.logFormat
	if format == "" {
		format = "json"
		if isTerminal(g.stderr) {
			format = "text"
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
	}
	return nil, &usageError{fmt.Sprintf("--log-format %q: want text or json", g.logFormat)}
}

// plugins returns the plugins to run for the config at configPath: with
// its plugin lock file, when there is one, every plugin is verified
// against it before it starts.
func (g *globals) plugins(log *slog.Logger, configPath string) (host.Plugins, error) {
	lock, err := host.ReadPluginLock(host.PluginLockPath(configPath))
	if err != nil {
		return host.Plugins{}, err
	}
	return g.hostPlugins(log, lock), nil
}

// hostPlugins returns the plugins of --plugin-dir, verified against lock
// when it is set, with the part of quiver's environment that plugins see.
func (g *globals) hostPlugins(log *slog.Logger, lock *host.PluginLock) host.Plugins {
	return host.Plugins{Dirs: host.PluginDirs(g.pluginDir), Logger: log, Lock: lock, Env: host.PluginEnvironment(os.Environ())}
}

// printResult prints a command's result on stdout: as JSON with --json,
// else with human unless --quiet.
func (g *globals) printResult(res any, human func(io.Writer)) error {
	switch {
	case g.jsonOut:
		return printJSON(g.stdout, res)
	case !g.quiet:
		human(g.stdout)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newSpec(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "spec CONNECTOR",
		Short: "Print a connector's description, config schema and streams",
		Long: "Print a connector's description, config schema and streams. If the plugin lock file of " +
			"the config (-c) exists, the plugin is verified against it first; the config itself is not read.",
		Args: exactArgs(1, "spec needs one connector name, e.g. quiver spec tracktik"),
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			plugins, err := g.plugins(log, path)
			if err != nil {
				return err
			}
			c, err := plugins.Open(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			spec, err := c.Spec(cmd.Context())
			if err != nil {
				return err
			}
			if g.jsonOut {
				return printJSON(g.stdout, map[string]any{
					"name": spec.Name, "version": spec.Version, "protocol_version": spec.ProtocolVersion,
					"description": spec.Description, "config_schema": spec.ConfigSchema, "streams": spec.Streams,
				})
			}
			fmt.Fprintf(g.stdout, "%s %s: %s\n", spec.Name, spec.Version, spec.Description)
			if len(spec.Streams) > 0 {
				fmt.Fprintf(g.stdout, "streams: %s\n", strings.Join(spec.Streams, ", "))
			}
			fmt.Fprintln(g.stdout, "config schema:")
			var schema any
			if err := json.Unmarshal(spec.ConfigSchema, &schema); err != nil {
				return fmt.Errorf("plugin %s sent an invalid config schema: %w", host.BinaryName(args[0]), err)
			}
			return printJSON(g.stdout, schema)
		},
	}
	configFlag(cmd, &path)
	return cmd
}

func exactArgs(n int, msg string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return &usageError{msg}
		}
		return nil
	}
}

// configFlag adds -c/--config to cmd.
func configFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVarP(path, "config", "c", "quiver.yaml", "config file")
}

// configCommand returns a command that loads -c FILE and calls run with
// the config and the host logger.
func configCommand(g *globals, use, short string, run func(ctx context.Context, cfg *host.Config, log *slog.Logger) error) *cobra.Command {
	var path string
	name, _, _ := strings.Cut(use, " ")
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(0, name+" takes no arguments; the config file goes in -c FILE"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			cfg, err := host.LoadConfig(path)
			if err != nil {
				return err
			}
			return run(cmd.Context(), cfg, log)
		},
	}
	configFlag(cmd, &path)
	return cmd
}

func newCheck(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check -c FILE",
		Short: "Validate the config and test each source's credentials with one request",
		Args:  exactArgs(0, "check takes no arguments; the config file goes in -c FILE"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var results []host.CheckResult
			log, err := g.logger()
			if err == nil {
				var cfg *host.Config
				var plugins host.Plugins
				if cfg, err = host.LoadConfig(path); err == nil {
					if plugins, err = g.plugins(log, path); err == nil {
						results, err = host.Check(cmd.Context(), cfg, plugins)
					}
				}
			}
			return g.printCheck(results, err)
		},
	}
	configFlag(cmd, &path)
	return cmd
}

// checkReport is what `quiver check --json` prints, on success and failure.
type checkReport struct {
	Status  string             `json:"status"` // ok or failed
	Error   string             `json:"error,omitempty"`
	Sources []host.CheckResult `json:"sources"`
}

// printCheck prints the results of check and returns err.
func (g *globals) printCheck(results []host.CheckResult, err error) error {
	if g.jsonOut {
		rep := checkReport{Status: "ok", Sources: results}
		if rep.Sources == nil {
			rep.Sources = []host.CheckResult{}
		}
		if err != nil {
			rep.Status, rep.Error = "failed", err.Error()
		}
		if jerr := printJSON(g.stdout, rep); jerr != nil {
			return jerr
		}
		return err
	}
	if !g.quiet {
		for _, r := range results {
			if r.Error == "" {
				fmt.Fprintf(g.stdout, "%-20s %-12s ok\n", r.Source, r.Connector)
			} else {
				fmt.Fprintf(g.stdout, "%-20s %-12s FAILED: %s\n", r.Source, r.Connector, r.Error)
			}
		}
	}
	return err
}

func newDiscover(g *globals) *cobra.Command {
	var sample int64
	cmd := configCommand(g, "discover -c FILE", "List each source's streams with their columns and types",
		func(ctx context.Context, cfg *host.Config, log *slog.Logger) error {
			if sample < 0 {
				return &usageError{fmt.Sprintf("--sample %d: want a positive number of records", sample)}
			}
			plugins, err := g.plugins(log, cfg.File())
			if err != nil {
				return err
			}
			cats, err := host.Discover(ctx, cfg, plugins, host.DiscoverOptions{Sample: sample})
			if g.jsonOut {
				if jerr := printJSON(g.stdout, cats); jerr != nil {
					return jerr
				}
				return err
			}
			for _, c := range cats {
				for _, s := range c.Streams {
					fmt.Fprintf(g.stdout, "%s.%s  (primary key: %s; cursor: %s; modes: %s; updates: %s)\n",
						c.Source, s.Name, strings.Join(s.PrimaryKey, ","), orNone(s.CursorField), strings.Join(s.SyncModes, ", "), orNone(s.Updates))
					for _, col := range s.Columns {
						null := ""
						if !col.Nullable {
							null = " not null"
						}
						fmt.Fprintf(g.stdout, "    %-32s %s%s\n", col.Name, col.Type, null)
					}
					if s.Sample != nil {
						printSample(g.stdout, s.Sample)
					}
				}
			}
			return err
		})
	cmd.Flags().Int64Var(&sample, "sample", 0, "also read up to N records of each stream (nothing is written) and list the keys the schema lacks and the columns whose values do not fit")
	return cmd
}

// printSample writes what a stream's sample held that its schema cannot
// take.
func printSample(w io.Writer, s *host.StreamSample) {
	switch {
	case s.Error != "":
		fmt.Fprintf(w, "  sample: %d records, then the read failed: %s\n", s.Records, s.Error)
	case s.Drift == nil:
		fmt.Fprintf(w, "  sample: %d records; the schema takes every value\n", s.Records)
	}
	if s.Drift == nil {
		return
	}
	fmt.Fprintf(w, "  sample: %d records; %d values would go to %s:\n", s.Records, s.Drift.Rescued, host.RescueColumn)
	for _, k := range s.Drift.Keys {
		what := "key the schema lacks"
		if k.Column != "" {
			what = "does not fit column " + k.Column
		}
		fmt.Fprintf(w, "    %-32s %s (%s; %d values, e.g. record %s)\n", k.Key, what, strings.Join(k.Shapes, "/"), k.Count, orNone(k.RecordID))
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
