package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quiver-etl/quiver/host/state"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// identityKeys are the config keys, besides those ending in _url, that
// identify an account without being secret: the host fingerprints them to
// tell one account's state from another's.
var identityKeys = []string{"url", "host", "client_id", "username", "user", "user_id", "key", "account", "account_id", "org", "org_id", "tenant", "tenant_id"}

// isIdentityKey reports whether a config key identifies the account.
func isIdentityKey(k string) bool {
	return strings.HasSuffix(k, "_url") || slices.Contains(identityKeys, k)
}

// owner returns what the state of source i belongs to: its connector, a
// fingerprint of its account's identity and its destination (relative to
// the state folder when it can be).
func (c *Config) owner(i int) *state.Owner {
	src := &c.Sources[i]
	return &state.Owner{Connector: src.Connector, Account: accountID(src.Config), Destination: c.destinationFromState()}
}

// accountID fingerprints the identity keys of a connector config; "" when
// it has none. Values are compared as written, less surrounding space and
// trailing slashes, and URLs case-insensitively.
func accountID(config map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(config)) {
		if !isIdentityKey(k) {
			continue
		}
		v := strings.TrimRight(strings.TrimSpace(fmt.Sprint(config[k])), "/")
		if strings.HasSuffix(k, "url") || k == "host" {
			v = strings.ToLower(v)
		}
		parts = append(parts, k+"="+v)
	}
	if len(parts) == 0 {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(sum[:8])
}

// identityFields lists the identity keys of source i's config, for messages.
func (c *Config) identityFields(i int) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(c.Sources[i].Config)) {
		if isIdentityKey(k) {
			out = append(out, k)
		}
	}
	return out
}

// destinationFromState returns the destination folder relative to the
// state folder, or absolute when it cannot be made relative.
func (c *Config) destinationFromState() string {
	if isObjectStore(c.Destination.Path) {
		// The bucket and prefix, not the endpoint and other options.
		return urlWithoutQuery(c.Destination.Path)
	}
	if isObjectStore(c.State) {
		dest, err := filepath.Abs(c.Destination.Path)
		if err != nil {
			return filepath.Clean(c.Destination.Path)
		}
		return dest
	}
	dest, err := filepath.Abs(c.Destination.Path)
	if err != nil {
		return filepath.Clean(c.Destination.Path)
	}
	st, err := filepath.Abs(c.State)
	if err != nil {
		return dest
	}
	if rel, err := filepath.Rel(st, dest); err == nil {
		return filepath.ToSlash(rel)
	}
	return dest
}

// checkOwner makes sure the loaded state belongs to this source: state
// without an owner is adopted (recorded with the next save); state of
// another connector, account or destination is refused with an error
// wrapping protocol.ErrConfig that says how to go on, unless the run takes
// state over (SyncOptions.TakeOverState).
func (s *sourceRun) checkOwner() error {
	want := s.opts.Config.owner(s.idx)
	got := s.st.Owner
	if got == nil || s.opts.TakeOverState {
		s.st.Owner = want
		return nil
	}
	if *got == *want {
		return nil
	}
	var diffs []string
	if got.Connector != want.Connector {
		diffs = append(diffs, fmt.Sprintf("connector %s, not %s", got.Connector, want.Connector))
	}
	if got.Account != want.Account {
		diffs = append(diffs, fmt.Sprintf("another account (this source's is identified by %s)", orText(strings.Join(s.opts.Config.identityFields(s.idx), ", "), "no fields")))
	}
	if got.Destination != want.Destination {
		diffs = append(diffs, fmt.Sprintf("destination %s, not %s (relative to the state folder)", got.Destination, want.Destination))
	}
	cfg := s.opts.Config
	return fmt.Errorf("the state in %s belongs to another source named %q: it was written for %s. "+
		"Configs that share a state folder need different source names: give %s its own state folder (state:) or rename the source; "+
		"or, if this source is meant to take that state over, run \"quiver state reset %s -c %s\" and then \"quiver sync --full-refresh -c %s\": %w",
		s.store.Path(s.cfg.Name), s.cfg.Name, strings.Join(diffs, "; "), cfg.File(), s.cfg.Name, cfg.File(), cfg.File(), protocol.ErrConfig)
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
