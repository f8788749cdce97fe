package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// A PluginLock is a plugin lock file: the SHA-256 of each plugin a config
// uses, as `quiver plugins lock` found them. With one, Plugins.Open starts
// only the binaries it names, verified by go-plugin's SecureConfig.
type PluginLock struct {
	Plugins []LockedPlugin `json:"plugins"`

	path string // where it was read from or written to, for messages
}

// A LockedPlugin is one plugin of a PluginLock.
type LockedPlugin struct {
	Connector string `json:"connector"` // e.g. tracktik
	Binary    string `json:"binary"`    // the file name, e.g. quiver-tracktik
	Version   string `json:"version"`   // as its Spec says
	SHA256    string `json:"sha256"`    // of the binary, lower-case hex
}

// PluginLockPath returns the lock file of the config at configPath: next
// to it, named after it, e.g. quiver.lock.json for quiver.yaml.
func PluginLockPath(configPath string) string {
	return strings.TrimSuffix(configPath, filepath.Ext(configPath)) + ".lock.json"
}

// ReadPluginLock reads the lock file at path. A missing file is no lock:
// nil and no error. Errors wrap protocol.ErrConfig.
func ReadPluginLock(path string) (*PluginLock, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("plugin lock file: %w: %w", protocol.ErrConfig, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var l PluginLock
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("plugin lock file %s: %w: %w (run `quiver plugins lock` to write it again)", path, protocol.ErrConfig, err)
	}
	for _, p := range l.Plugins {
		if sum, err := hex.DecodeString(p.SHA256); err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("plugin lock file %s: plugin %s: sha256 %q is not a SHA-256 in hex: %w", path, p.Connector, p.SHA256, protocol.ErrConfig)
		}
	}
	l.path = path
	return &l, nil
}

// Write writes l to path, atomically.
func (l *PluginLock) Write(path string) error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	if err := sink.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("plugin lock file: %w", err)
	}
	l.path = path
	return nil
}

// checksum returns the locked SHA-256 of connector's plugin.
func (l *PluginLock) checksum(connector string) ([]byte, error) {
	i := slices.IndexFunc(l.Plugins, func(p LockedPlugin) bool { return p.Connector == connector })
	if i < 0 {
		return nil, fmt.Errorf("plugin %s is not in the lock file %s; run `quiver plugins lock` to add it: %w", BinaryName(connector), l.path, protocol.ErrConfig)
	}
	sum, _ := hex.DecodeString(l.Plugins[i].SHA256) // checked by ReadPluginLock
	return sum, nil
}

// LockFile finds the plugin of each connector, hashes it, starts it (verified
// against that hash) to learn its version and to check its name, and
// returns the lock of them all, sorted by connector. p.Lock is not used.
func (p Plugins) LockFile(ctx context.Context, connectors []string) (*PluginLock, error) {
	l := &PluginLock{Plugins: []LockedPlugin{}}
	for _, c := range slices.Compact(slices.Sorted(slices.Values(connectors))) {
		path, err := p.Find(c)
		if err != nil {
			return nil, err
		}
		sum, err := fileSHA256(path)
		if err != nil {
			return nil, fmt.Errorf("plugin %s: %w", BinaryName(c), err)
		}
		one := p
		one.Lock = &PluginLock{Plugins: []LockedPlugin{{Connector: c, SHA256: hex.EncodeToString(sum)}}}
		client, spec, err := one.start(ctx, c)
		if err != nil {
			return nil, err
		}
		client.Close()
		l.Plugins = append(l.Plugins, LockedPlugin{Connector: c, Binary: filepath.Base(path), Version: spec.Version, SHA256: hex.EncodeToString(sum)})
	}
	return l, nil
}

// fileSHA256 returns the SHA-256 of the file at path.
func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
