package e2e

// Plugin supply chain: `quiver plugins lock` records every plugin's
// SHA-256 next to the config, and a binary that changed since is never
// started; nor is a plugin whose Spec name is not its file name.

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPluginLock_Tampered: after `quiver plugins lock`, a plugin binary
// that changed is refused before it starts, by sync, check, discover and
// spec alike, with exit 2 naming the plugin; so is a plugin the lock file
// does not list.
func TestPluginLock_Tampered(t *testing.T) {
	t.Parallel()
	ctx := misbehaveContext(t)
	out, plugins, cfg := misbehaveCopy(t, "", "m", "{mode: normal, rows: 10}")
	bin := filepath.Join(plugins, "quiver-misbehave")
	dir := []string{"-c", cfg, "--plugin-dir", plugins}

	if r := quiver(ctx, t, nil, append([]string{"plugins", "lock"}, dir...)...); r.code != 0 {
		t.Fatalf("plugins lock: exit %d\n%s", r.code, tail(r.stderr, 20))
	}
	lockPath := filepath.Join(out, "quiver.lock.json")
	var lock struct {
		Plugins []struct{ Connector, Binary, Version, SHA256 string }
	}
	b, err := os.ReadFile(lockPath)
	if err == nil {
		err = json.Unmarshal(b, &lock)
	}
	if err != nil || len(lock.Plugins) != 1 || lock.Plugins[0].Connector != "misbehave" || lock.Plugins[0].Binary != "quiver-misbehave" ||
		lock.Plugins[0].Version != "0.0.0-test" || len(lock.Plugins[0].SHA256) != 64 {
		t.Fatalf("lock file: %v\n%s", err, b)
	}
	misbehaveSync(ctx, t, 0, dir...)

	f, err := os.OpenFile(bin, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, "tampered"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	refused := func(t *testing.T, what string, args ...string) {
		t.Helper()
		r := quiver(ctx, t, nil, args...)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", args[0], r.code, tail(r.stderr, 20))
		}
		if !strings.Contains(r.stderr, "plugin quiver-misbehave at "+bin) || !strings.Contains(r.stderr, what) {
			t.Errorf("%s: the error does not name the plugin and say %q:\n%s", args[0], what, tail(r.stderr, 10))
		}
	}
	const changed = "is not the binary locked in " // + the lock file
	refused(t, changed, append([]string{"sync"}, dir...)...)
	refused(t, changed, append([]string{"check"}, dir...)...)
	refused(t, changed, append([]string{"discover"}, dir...)...)
	refused(t, changed, append([]string{"spec", "misbehave"}, dir...)...)
	if _, err := os.Stat(filepath.Join(out, "data", "m", "items")); err != nil {
		t.Errorf("the verified sync wrote nothing: %v", err)
	}

	if err := os.WriteFile(lockPath, []byte(`{"plugins": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := quiver(ctx, t, nil, append([]string{"sync"}, dir...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "plugin quiver-misbehave is not in the lock file") {
		t.Errorf("sync with the plugin missing from the lock file: exit %d, want 2 saying so\n%s", r.code, tail(r.stderr, 10))
	}
}

// TestPluginLock_WrongName: a plugin whose Spec names another connector
// than its file name is refused, locked or not.
func TestPluginLock_WrongName(t *testing.T) {
	t.Parallel()
	ctx := misbehaveContext(t)
	out, plugins, cfg := misbehaveCopy(t, "wrong_name", "m", "{mode: normal}")
	for _, cmd := range []string{"sync", "plugins lock"} {
		r := quiver(ctx, t, nil, append(strings.Fields(cmd), "-c", cfg, "--plugin-dir", plugins)...)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", cmd, r.code, tail(r.stderr, 20))
		}
		if want := `plugin quiver-misbehave at ` + filepath.Join(plugins, "quiver-misbehave") + ` says it is the connector "tracktik", not "misbehave"`; !strings.Contains(r.stderr, want) {
			t.Errorf("%s: the error does not say %q:\n%s", cmd, want, tail(r.stderr, 10))
		}
	}
	if _, err := os.Stat(filepath.Join(out, "quiver.lock.json")); err == nil {
		t.Error("plugins lock wrote a lock file for a misnamed plugin")
	}
}

// misbehaveCopy copies quiver-misbehave into <out>/plugins of a new
// temporary folder out, with mode (if not "") in its "<binary>.mode" file,
// and writes a config in out whose one source, named source, has config
// (see misbehaveSource). It returns out, the plugins folder and the config.
func misbehaveCopy(t *testing.T, mode, source, config string) (out, plugins, cfg string) {
	t.Helper()
	out = t.TempDir()
	plugins = filepath.Join(out, "plugins")
	bin := filepath.Join(plugins, "quiver-misbehave")
	copyFile(t, filepath.Join(binDir, "quiver-misbehave"), bin, 0o755)
	if mode != "" {
		if err := os.WriteFile(bin+".mode", []byte(mode), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg = writeConfig(t, out, misbehaveConfig(out, misbehaveSource(source, config, "")))
	return out, plugins, cfg
}

// copyFile copies src to dst with mode perm, creating dst's folder.
func copyFile(t *testing.T, src, dst string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	o, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(o, in); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
}
