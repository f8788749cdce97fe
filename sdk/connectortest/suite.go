package connectortest

import (
	"errors"
	"testing"
	"time"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
)

// A Suite says how to test one connector: the connector, its plugin main
// and how to start its simulator. Run checks the rest through the public
// interfaces alone (sdk.Connector in process, the plugin protocol through
// the plugin process), so a Suite never depends on how the connector is
// built inside.
type Suite struct {
	// Connector is the connector under test, run in process.
	Connector sdk.Connector
	// Plugin is the import path of the connector's plugin main package,
	// e.g. "github.com/quiver-etl/quiver/connectors/tracktik/cmd/quiver-tracktik".
	// Run builds it once per test binary and runs every check again
	// through the plugin process. Empty skips the plugin runs.
	Plugin string
	// Start starts a simulator for one check, with opts, and stops it when
	// t's test ends (simulators' NewServer do both). Run calls it once per
	// check, concurrently; keep the data small (tens of records per stream
	// and a small page size), so that a read takes many pages in well
	// under a second.
	Start func(t TB, opts SimOptions) *Sim
	// Variants are the simulator variants (SimOptions.Variant) besides
	// the default "": each gets a full read checked for every record
	// exactly once, by key; their values are not compared, since a
	// variant is free to serve shapes the schema cannot take.
	Variants []string
	// Rereads bounds, by stream, how many records a resumed read may land
	// again that the interrupted read already committed, for a stream
	// whose checkpoint cannot tell them apart (a cursor read again from a
	// margin before its mark). A stream not named may repeat none; a
	// "lookback" stream (protocol.Lookback) may repeat any.
	Rereads map[string]int
	// Clocked, when set, returns the connector with its clock replaced
	// by clk.Now and its waits (retries, rate limits) by timer, which
	// moves clk instead of sleeping. The in-process checks that would
	// wait in real time (token_expiry, rate_limit_bare) then run on clk,
	// with the simulator's clock SimOptions.Now set to it, and take
	// milliseconds; the plugin mode, whose process the kit cannot reach,
	// runs them in real time. Nil runs them in real time in both modes.
	Clocked func(clk *Clock, timer *Timer) sdk.Connector
	// Ignore names, by stream, columns whose values a full read does not
	// compare, such as a time the connector takes from its own clock.
	Ignore map[string][]string
}

// SimOptions configure the simulator of one check.
type SimOptions struct {
	// Faults turns on the simulator's own faults: the vendor's rate limits
	// and whatever random faults the suite's author chooses. When it is
	// false the simulator should answer every request at once, so that the
	// faults Run scripts (Sim.Faults) are the only ones.
	Faults bool
	// TokenTTL, when positive, is the lifetime of the access tokens the
	// simulator issues; zero leaves its default.
	TokenTTL time.Duration
	// Variant chooses the simulator's variant: "" for the default shapes,
	// else one of Suite.Variants.
	Variant string
	// Now, when not nil, is the clock the simulator must use for token
	// lifetimes and rate limits (the kit's Clock; see Suite.Clocked);
	// nil means the real one.
	Now func() time.Time
}

// A Sim is a running simulator as Run sees it. Config, Secrets and Records
// are required; Faults and the hooks may be nil where the vendor has no such thing,
// and then the checks that need them are skipped.
type Sim struct {
	// Config is the connector's config (JSON) for reading this simulator
	// with good credentials.
	Config []byte
	// BadConfig is Config with wrong credentials; nil skips the check that
	// a bad login fails with sdk.ErrAuth.
	BadConfig []byte
	// Secrets are the secret values of Config and BadConfig: none may
	// appear in logs, errors, records, state or the catalog.
	Secrets []string
	// Streams names every stream this simulator's account has; Discover
	// must return each. Nil means the Spec's static streams.
	Streams []string
	// Records returns what the simulator holds for stream, each record as
	// encoding/json decodes it, keyed by the vendor's JSON keys (see
	// Expect). A full read must land each exactly once, by the stream's
	// primary key, with the same values. Records returns ErrNotHeld for a
	// stream whose records the suite does not describe; such a stream is
	// only checked for duplicate keys.
	Records func(stream string) ([]map[string]any, error)
	// Faults is the simulator's fault injector (package fault), for the fault
	// matrix. It must wrap every data endpoint (not the token endpoint):
	// token_expiry holds the read's requests through it.
	Faults *fault.Injector
	// Logins returns how many tokens the simulator has been asked for so
	// far (its token requests), for the replication-lag and token-expiry
	// cases. The simulator must refuse a token once its life (see
	// SimOptions.TokenTTL) is over.
	Logins func() int
	// SetLag makes the first n data requests made with each token issued
	// from now on fail with 401, as a vendor's read replica does before it
	// knows a new token.
	SetLag func(n int)
}

// ErrNotHeld is what Sim.Records returns for a stream whose records the
// suite does not describe.
var ErrNotHeld = errors.New("connectortest: the simulator does not say what this stream holds")

// Run runs the conformance checks on s, as subtests of t: in process
// (t.Run("inprocess"), through sdk.NewPlugin, the adapter sdk.Serve
// serves) and through the plugin process (t.Run("plugin"), built from
// s.Plugin with go build once per test binary and driven through the
// host's side of the plugin protocol) when s.Plugin is set. The checks of
// both modes run concurrently, each against a simulator of its own; each
// mode checks:
//
//   - spec: name, version and protocol version; the config schema compiles,
//     Config and BadConfig validate against it, and every config key that
//     holds a secret is "writeOnly";
//   - check: Check passes with Config and fails with a sdk.ErrAuth error
//     with BadConfig;
//   - discover: every stream the Sim names, with a schema, a primary key
//     and sync modes;
//   - read: a full read of every stream lands every record exactly once
//     with the simulator's values, each stream ends Complete, and every
//     batch has its catalog schema;
//   - faults/<kind>: the same under one fault each, scripted at the first
//     request and again after the first batch: a replication-lag 401 on
//     every fresh token (lag_401: the read must not log in more than once,
//     since the 401 of a token inside its grace window is retried with the
//     same token), 429 with Retry-After in seconds, as a date and without
//     it (only after the first batch: clients wait that out for seconds),
//     5xx, a reset connection, a truncated and a malformed body, a slow
//     answer, and tokens expiring in the middle of the read (token_expiry:
//     SimOptions.TokenTTL of 2 s; the first data request goes through and
//     Sim.Faults holds every later one until 2.5 s after it, so that the
//     token the read began with has expired; the read must ask for a new
//     one, two tokens at least, and it fails when it made fewer than two
//     data requests, having tested nothing). With s.Clocked, the
//     in-process token_expiry and rate_limit_bare run on a Clock instead,
//     in milliseconds: waits move it, and so does the token hold;
//   - variant/<name>: a full read of each of s.Variants, every key once;
//   - resume: a full read counts the checkpoints it sends (N); a second
//     read is interrupted at its checkpoint number ceil(N/2) (the Writer
//     fails that Checkpoint call and the read's ctx is cancelled), and
//     each incremental stream is read again from the last checkpoint it
//     sent (full-refresh streams from scratch, their rows of the
//     interrupted read dropped, as the host does). The rows the
//     checkpoints cover plus the resumed read must hold every record,
//     with the simulator's values, none twice within a read, and none in
//     both reads: only a "lookback" stream may repeat records (any
//     number), and a stream named in s.Rereads up to that many. A resumed
//     stream other than a lookback one must also send fewer records than
//     a full read (it did not start over);
//
// and, in every read, that no secret appears in the logs (at Debug level),
// errors, records, checkpoints or catalog. A case whose hook the Sim
// lacks (Faults, Logins, SetLag) passes with a log line saying so.
func Run(t *testing.T, s Suite) {
	t.Helper()
	run(testingT{t}, s)
}
