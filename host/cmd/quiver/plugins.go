package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/quiver-etl/quiver/host"
)

func newPlugins(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "Manage the plugins a config runs",
		Args:  exactArgs(0, "plugins needs a subcommand: quiver plugins lock -c FILE"),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPluginsLock(g))
	return cmd
}

func newPluginsLock(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "lock -c FILE",
		Short: "Record the version and SHA-256 of every plugin the config uses, in a lock file next to it",
		Long: "Record the name, version and SHA-256 of every plugin the config's sources use in the " +
			"plugin lock file next to the config (quiver.lock.json for quiver.yaml). While it exists, " +
			"sync, check, discover and spec start only those binaries: a plugin that changed, or one " +
			"missing from the lock file, is refused with exit code 2. Run it again after installing " +
			"new plugins on purpose.",
		Args: exactArgs(0, "plugins lock takes no arguments; the config file goes in -c FILE"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			cfg, err := host.LoadConfigWithoutSecrets(path)
			if err != nil {
				return err
			}
			var connectors []string
			for _, s := range cfg.Sources {
				connectors = append(connectors, s.Connector)
			}
			plugins := g.hostPlugins(log, nil)
			lock, err := plugins.LockFile(cmd.Context(), connectors)
			if err != nil {
				return err
			}
			out := host.PluginLockPath(path)
			if err := lock.Write(out); err != nil {
				return err
			}
			return g.printResult(lock, func(w io.Writer) {
				for _, p := range lock.Plugins {
					fmt.Fprintf(w, "%-20s %-12s sha256:%s\n", p.Binary, p.Version, p.SHA256)
				}
				fmt.Fprintf(w, "wrote %s\n", out)
			})
		},
	}
	configFlag(cmd, &path)
	return cmd
}
