package host

import (
	"runtime"
	"strconv"
	"strings"
)

// PluginEnvNames is the environment variable listing, separated by commas,
// the names of more host environment variables to pass to every plugin, on
// top of those PluginEnvironment always passes.
const PluginEnvNames = "QUIVER_PLUGIN_ENV"

// PluginEnvironment returns the entries of environ (KEY=value, as
// os.Environ returns them) that every plugin gets as its whole environment,
// in environ's order: the variables passedToPlugins names, and those named
// in environ's $QUIVER_PLUGIN_ENV. Nothing else of the host's environment
// reaches a plugin, because it holds the secrets that configs reference
// (${TRACKTIK_PASSWORD}): configs and secrets travel over RPC. On Windows,
// where environment names ignore case, names match in any case. Last comes
// GOMAXPROCS, half of this process's (see withPluginProcs), unless
// $QUIVER_PLUGIN_ENV passes the user's.
func PluginEnvironment(environ []string) []string {
	return withPluginProcs(pluginEnvironment(environ, foldEnvNames), foldEnvNames, runtime.GOMAXPROCS(0))
}

// withPluginProcs returns env with GOMAXPROCS set to half of procs (the
// host's), at least 1, unless env sets it already; fold makes the name
// match in any case.
//
// A plugin's work is the cheaper half of a sync: it decodes JSON for a
// host that encodes Parquet on one goroutine per source, about three times
// the CPU per record (`make bench`: connector 0.56 s, sink 1.5 s for
// 250,000 records), so half the cores are more than a plugin can use.
// Given all of them, the Go runtime's idle GC workers and spinning threads
// in the plugin take cycles from the host's writer, the slowest stage: on
// 2 cores, plugins with GOMAXPROCS=1 made `make bench` end to end 1.13x and
// the all-streams TrackTik sync 1.11x as fast, with a 50 ms vendor as fast
// as before (its requests wait on the network, not on a core).
func withPluginProcs(env []string, fold bool, procs int) []string {
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name == "GOMAXPROCS" || fold && strings.EqualFold(name, "GOMAXPROCS") {
			return env
		}
	}
	return append(env, "GOMAXPROCS="+strconv.Itoa(max(1, procs/2)))
}

// pluginEnvironment is PluginEnvironment; fold makes names match in any
// case.
func pluginEnvironment(environ []string, fold bool) []string {
	norm := func(name string) string { return name }
	if fold {
		norm = strings.ToUpper
	}
	extra := map[string]bool{}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if norm(name) != norm(PluginEnvNames) {
			continue
		}
		clear(extra) // the last entry counts, as in exec.Cmd
		for _, n := range strings.Split(value, ",") {
			if n = strings.TrimSpace(n); n != "" {
				extra[norm(n)] = true
			}
		}
	}
	var out []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if ok && name != "" && (passedToPlugins(norm(name)) || extra[norm(name)]) {
			out = append(out, kv)
		}
	}
	return out
}

// passedToPlugins reports whether the host environment variable name
// (upper-cased on Windows) goes to every plugin. Each is a setting that a
// plugin's HTTP client or the Go runtime reads and that is not a secret;
// a user adds others with $QUIVER_PLUGIN_ENV.
func passedToPlugins(name string) bool {
	switch name {
	case
		// Proxies, the names net/http's ProxyFromEnvironment reads (it
		// ignores ALL_PROXY), so that plugins reach the vendor from
		// behind a corporate proxy. A proxy URL may hold the proxy's
		// credentials; quiver never logs the values it passes.
		"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy",
		// TLS trust: a private CA bundle or folder replacing the system's,
		// as crypto/x509 reads them on Linux and the BSDs (macOS and
		// Windows trust their own certificate stores only).
		"SSL_CERT_FILE", "SSL_CERT_DIR",
		// Process basics: time zone, temporary files (TMPDIR on Unix,
		// TMP and TEMP on Windows), home folder, locale and PATH.
		"TZ", "TMPDIR", "TMP", "TEMP", "HOME", "USERPROFILE", "LANG", "LC_ALL", "PATH",
		// Windows: its system folders (networking fails without
		// SYSTEMROOT), and the folders os.UserCacheDir and
		// os.UserConfigDir return (LOCALAPPDATA, APPDATA).
		"SYSTEMROOT", "WINDIR", "LOCALAPPDATA", "APPDATA", "PROGRAMDATA":
		return true
	}
	return false
}

// envNames returns the names of the KEY=value entries of env, for logs
// that must not show values.
func envNames(env []string) []string {
	names := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	return names
}
