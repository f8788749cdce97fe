package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// PluginEnv is the environment variable holding extra plugin directories,
// separated like PATH.
const PluginEnv = "QUIVER_PLUGIN_DIR"

// Plugins finds and starts connector plugins. The zero value searches
// PluginDirs("").
type Plugins struct {
	Dirs      []string         // searched in order
	Logger    *slog.Logger     // receives plugin log lines; nil discards them
	Allocator memory.Allocator // for decoded batches; nil means the Go allocator
	// Lock, if set, is the plugin lock file: Open starts only the plugins
	// it names, with the checksums it gives.
	Lock *PluginLock
	// Env is every plugin's whole environment (KEY=value); nil gives
	// plugins an empty one. The CLI sets PluginEnvironment(os.Environ()):
	// the host's environment is never passed whole, as it holds secrets.
	Env []string
}

// PluginDirs returns the directories to search for plugins, in order: dir
// (from a flag) when set, the entries of $QUIVER_PLUGIN_DIR, and the
// directory holding the running quiver binary.
func PluginDirs(dir string) []string {
	var dirs []string
	if dir != "" {
		dirs = append(dirs, dir)
	}
	for _, d := range filepath.SplitList(os.Getenv(PluginEnv)) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			dirs = append(dirs, filepath.Dir(exe))
		}
	}
	return dirs
}

// BinaryName returns the plugin binary name of a connector:
// quiver-<connector>, with ".exe" on Windows.
func BinaryName(connector string) string { return "quiver-" + connector + exeSuffix }

// Find returns the path of the plugin binary for connector.
func (p Plugins) Find(connector string) (string, error) {
	dirs := p.Dirs
	if dirs == nil {
		dirs = PluginDirs("")
	}
	name := BinaryName(connector)
	for _, d := range dirs {
		path := filepath.Join(d, name)
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		if st.IsDir() || !executable(st.Mode()) {
			return "", fmt.Errorf("plugin %s at %s is not an executable file: %w", name, path, protocol.ErrConfig)
		}
		return path, nil
	}
	return "", fmt.Errorf("plugin %s not found in %s; build it (make build) or point --plugin-dir or $%s at its folder: %w",
		name, strings.Join(dirs, ", "), PluginEnv, protocol.ErrConfig)
}

// Open finds, verifies and starts the plugin for connector: with a Lock,
// its binary must have the locked SHA-256 (else nothing is started), and
// its Spec must name connector, as its file name does. Errors of either
// check wrap protocol.ErrConfig. The caller closes the client, which stops
// the plugin process.
func (p Plugins) Open(ctx context.Context, connector string) (*protocol.Client, error) {
	c, _, err := p.start(ctx, connector)
	return c, err
}

// start is Open, also returning the plugin's Spec.
func (p Plugins) start(ctx context.Context, connector string) (*protocol.Client, *protocol.Spec, error) {
	name := BinaryName(connector)
	path, err := p.Find(connector)
	if err != nil {
		return nil, nil, err
	}
	var sum []byte
	if p.Lock != nil {
		if sum, err = p.Lock.checksum(connector); err != nil {
			return nil, nil, err
		}
	}
	logger := p.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger.Debug("starting plugin", "plugin", name, "path", path, "env", envNames(p.Env))
	c, err := protocol.Open(ctx, path, protocol.Options{
		Name:      name,
		Logger:    dedupeLogger(logger).With("connector", connector),
		Allocator: p.Allocator,
		Checksum:  sum,
		Env:       p.Env,
	})
	if errors.Is(err, protocol.ErrChecksum) {
		return nil, nil, fmt.Errorf("plugin %s at %s is not the binary locked in %s (its SHA-256 differs), so it was not started; "+
			"if you installed another version on purpose, run `quiver plugins lock` again: %w", name, path, p.Lock.path, protocol.ErrConfig)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("start plugin %s: %w", name, err)
	}
	spec, err := c.Spec(ctx)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if spec.Name != connector {
		c.Close()
		return nil, nil, fmt.Errorf("plugin %s at %s says it is the connector %q, not %q: a plugin's file name must be quiver-<its name>; refusing to run it: %w",
			name, path, spec.Name, connector, protocol.ErrConfig)
	}
	return c, spec, nil
}

// Installed lists the connectors whose plugins are found in the search
// directories, for messages and `quiver spec` without arguments.
func (p Plugins) Installed() []string {
	dirs := p.Dirs
	if dirs == nil {
		dirs = PluginDirs("")
	}
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		for _, e := range entries {
			name, ok := strings.CutPrefix(strings.TrimSuffix(e.Name(), exeSuffix), "quiver-")
			if !ok || e.IsDir() || seen[name] || strings.Contains(name, ".") {
				continue
			}
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}
