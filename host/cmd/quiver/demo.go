package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quiver-etl/quiver/host"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// A simulator is one built-in vendor simulator as the demo and `quiver sim`
// use it.
type simulator struct {
	connector string
	// start runs the simulator on addr and returns the source config (with
	// ${VAR} references for secrets), the values of those variables, and a
	// function that stops it.
	start func(addr string, o simOptions) (*simRun, error)
}

// simOptions are what the demo and `quiver sim` ask of a simulator.
type simOptions struct {
	faults fault.Options
	// variant is the simulator's Options.Variant: "" for the default
	// shapes, variantAlt for the other plausible ones.
	variant string
	// days is the simulator's Options.Days: the days of changes (updates,
	// inserts, deletes where the API shows them) applied to its data.
	days int
}

// daysFlag adds --days to cmd.
func daysFlag(cmd *cobra.Command, v *int) {
	cmd.Flags().IntVar(v, "days", 0, "apply this many days of changes (updated, new and, where the API shows it, deleted records) to the simulators' data, the same for the same number: sync, then sync again with --days 1 to see the changes arrive")
}

// variantAlt is the --variant that serves the other plausible shapes
// where the research gives none (every simulator's VariantAlt).
const variantAlt = "alt"

// variantFlag adds --variant to cmd.
func variantFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "variant", "default", `the API shapes the simulators serve: "default", or "alt" for the other plausible shapes where the vendors' docs give none (display names for ids, another event-time key, unknown extra keys, fields whose type changes between pages)`)
}

// parseVariant checks a --variant value and returns the simulators'
// Options.Variant for it.
func parseVariant(v string) (string, error) {
	switch v {
	case "", "default":
		return "", nil
	case variantAlt:
		return variantAlt, nil
	}
	return "", &usageError{fmt.Sprintf("--variant %q: want default or %s", v, variantAlt)}
}

// simRun is a running simulator.
type simRun struct {
	urls   map[string]string // name -> URL, for `quiver sim`
	config map[string]any
	env    map[string]string
	close  func()
	// applyDay applies one more day of changes to the simulator's data.
	applyDay func()
}

// simulators returns the built-in simulators by connector name.
func simulators() map[string]simulator {
	m := map[string]simulator{}
	for _, s := range []simulator{trackTikSim(), capillarySim(), trackViaSim(), trackunitSim()} {
		m[s.connector] = s
	}
	return m
}

func simNames() []string {
	var names []string
	for n := range simulators() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func newDemo(g *globals) *cobra.Command {
	var out string
	var rate float64
	var full bool
	var variant string
	var days int
	var resync bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Sync the built-in vendor simulators into ./out (no credentials needed)",
		Args:  exactArgs(0, "demo takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFaults(rate); err != nil {
				return err
			}
			v, err := parseVariant(variant)
			if err != nil {
				return err
			}
			if days < 0 {
				return &usageError{fmt.Sprintf("--days %d: want 0 or more", days)}
			}
			return g.demo(cmd.Context(), out, simOptions{faults: fault.Options{Rate: rate, Seed: 1}, variant: v, days: days}, full, resync)
		},
	}
	variantFlag(cmd, &variant)
	daysFlag(cmd, &days)
	cmd.Flags().StringVar(&out, "out", "./out", "output folder")
	cmd.Flags().Float64Var(&rate, "faults", 0.01, "share of API requests that fail (429, 5xx, cut bodies, resets) to show the retries at work")
	cmd.Flags().BoolVar(&full, "full-refresh", true, "replace the previous demo output (false: sync incrementally)")
	cmd.Flags().BoolVar(&resync, "resync", false, "after the sync, apply a day of changes to the simulators and sync again, incrementally: lookback streams then hold two versions of the records they re-read (see examples/duckdb/latest/shifts.sql and quiver compact)")
	return cmd
}

func (g *globals) demo(ctx context.Context, out string, o simOptions, full, resync bool) error {
	env := map[string]string{}
	var srcs []string
	var days []func()
	for _, name := range simNames() {
		run, err := simulators()[name].start("127.0.0.1:0", o)
		if err != nil {
			return fmt.Errorf("start the %s simulator: %w", name, err)
		}
		defer run.close()
		for k, v := range run.env {
			env[k] = v
		}
		srcs = append(srcs, demoSource(name, run.config))
		days = append(days, run.applyDay)
	}
	dir := filepath.Join(out, "_demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Paths are relative to this file's folder, as every config's are.
	text := "# A record of the last `quiver demo` run, not a config to reuse: the simulators it\n" +
		"# names ran on loopback ports for that run only, and their ${VAR} credentials were\n" +
		"# set by the demo. To try check, discover and sync yourself, run `quiver sim tracktik`\n" +
		"# (it prints a ready source block and the variables to export).\nsources:\n" +
		strings.Join(srcs, "") +
		"destination:\n  path: ..\n  format: parquet\nstate: state\n"
	path := filepath.Join(dir, "quiver.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return err
	}
	cfg, err := host.ParseConfig(path, []byte(text), func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		return err
	}
	if !g.quiet && !g.jsonOut {
		shapes := ""
		if o.variant != "" {
			shapes = " (" + o.variant + " shapes)"
		}
		fmt.Fprintf(g.stdout, "quiver demo: simulators for %s%s on loopback; config %s; output %s\n\n",
			strings.Join(simNames(), ", "), shapes, path, out)
	}
	// The state folder is the demo's own, and the simulators serve the same
	// data from new ports every run: take the previous run's state over.
	if err := g.sync(ctx, cfg, syncFlags{fullRefresh: full, takeOver: true, parallel: 1, batchSched: true}); err != nil || !resync {
		return err
	}
	// The simulators listen on new ports in every demo run, and state
	// belongs to one account (URL included), so the second sync of the
	// changed data runs here, against the same simulators.
	for _, apply := range days {
		apply()
	}
	if !g.quiet && !g.jsonOut {
		fmt.Fprintf(g.stdout, "\nquiver demo: the simulators applied a day of changes; syncing again\n\n")
	}
	return g.sync(ctx, cfg, syncFlags{takeOver: true, parallel: 1, batchSched: true})
}

// checkFaults rejects a --faults share outside 0..1.
func checkFaults(rate float64) error {
	if !(rate >= 0 && rate <= 1) { // also NaN
		return &usageError{fmt.Sprintf("--faults %v: want a share of requests between 0 and 1, e.g. 0.01", rate)}
	}
	return nil
}

// demoSource renders one source entry of the demo config.
func demoSource(connector string, config map[string]any) string {
	var keys []string
	for k := range config {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: demo-%s\n    connector: %s\n    config:\n", connector, connector)
	for _, k := range keys {
		fmt.Fprintf(&b, "      %s: %s\n", k, yamlScalar(config[k]))
	}
	return b.String()
}

func yamlScalar(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

func newSim(g *globals) *cobra.Command {
	var addr, variant string
	var rate float64
	var days int
	cmd := &cobra.Command{
		Use:   "sim VENDOR",
		Short: "Run a built-in vendor simulator until interrupted (" + strings.Join(simNames(), ", ") + ")",
		Args:  exactArgs(1, "sim needs one vendor name: "+strings.Join(simNames(), ", ")),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFaults(rate); err != nil {
				return err
			}
			s, ok := simulators()[args[0]]
			if !ok {
				return &usageError{fmt.Sprintf("no simulator %q; have %s", args[0], strings.Join(simNames(), ", "))}
			}
			v, err := parseVariant(variant)
			if err != nil {
				return err
			}
			if days < 0 {
				return &usageError{fmt.Sprintf("--days %d: want 0 or more", days)}
			}
			run, err := s.start(addr, simOptions{faults: fault.Options{Rate: rate, Seed: 1}, variant: v, days: days})
			if err != nil {
				return err
			}
			defer run.close()
			var names []string
			for n := range run.urls {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(g.stdout, "%s: %s\n", n, run.urls[n])
			}
			fmt.Fprintf(g.stdout, "source config:\n%s", demoSource(args[0], run.config))
			var vars []string
			for k, v := range run.env {
				vars = append(vars, k+"="+v)
			}
			sort.Strings(vars)
			fmt.Fprintf(g.stdout, "environment (simulator credentials, not secrets):\n  %s\n", strings.Join(vars, "\n  "))
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "listen address (loopback)")
	cmd.Flags().Float64Var(&rate, "faults", 0, "share of API requests that fail")
	variantFlag(cmd, &variant)
	daysFlag(cmd, &days)
	return cmd
}
