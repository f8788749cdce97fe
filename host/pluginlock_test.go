package host

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

func TestPluginLockPath(t *testing.T) {
	for in, want := range map[string]string{
		"quiver.yaml":          "quiver.lock.json",
		"/etc/quiver/acme.yml": "/etc/quiver/acme.lock.json",
		"conf":                 "conf.lock.json",
	} {
		if got := PluginLockPath(in); got != want {
			t.Errorf("PluginLockPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadPluginLock(t *testing.T) {
	const sum = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	tests := []struct {
		name, text string
		wantErr    string // "" for none
	}{
		{"ok", `{"plugins":[{"connector":"tracktik","binary":"quiver-tracktik","version":"1.0.0","sha256":"` + sum + `"}]}`, ""},
		{"not json", `plugins: []`, "invalid character"},
		{"unknown key", `{"plugins":[],"extra":1}`, "unknown field"},
		{"short sum", `{"plugins":[{"connector":"tracktik","sha256":"abcd"}]}`, `plugin tracktik: sha256 "abcd" is not a SHA-256 in hex`},
		{"not hex", `{"plugins":[{"connector":"tracktik","sha256":"` + strings.Repeat("z", 64) + `"}]}`, "is not a SHA-256 in hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "quiver.lock.json")
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			l, err := ReadPluginLock(path)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ReadPluginLock() = %v", err)
				}
				got, err := l.checksum("tracktik")
				if err != nil || len(got) != 32 {
					t.Errorf("checksum(tracktik) = %x, %v", got, err)
				}
				if _, err := l.checksum("trackvia"); !errors.Is(err, protocol.ErrConfig) || !strings.Contains(err.Error(), "quiver-trackvia is not in the lock file "+path) {
					t.Errorf("checksum(trackvia) = %v, want ErrConfig naming the plugin and the file", err)
				}
				return
			}
			if !errors.Is(err, protocol.ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("ReadPluginLock() = %v, want ErrConfig naming %s and saying %q", err, path, tt.wantErr)
			}
		})
	}
	if l, err := ReadPluginLock(filepath.Join(t.TempDir(), "missing.json")); l != nil || err != nil {
		t.Errorf("ReadPluginLock(missing) = %v, %v; want no lock and no error", l, err)
	}
}

func TestPluginLock_WriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quiver.lock.json")
	want := &PluginLock{Plugins: []LockedPlugin{{Connector: "tracktik", Binary: "quiver-tracktik", Version: "1.0.0", SHA256: strings.Repeat("ab", 32)}}}
	if err := want.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPluginLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Plugins, got.Plugins); diff != "" {
		t.Errorf("read back mismatch (-want +got):\n%s", diff)
	}
}
