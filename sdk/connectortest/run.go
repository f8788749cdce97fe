package connectortest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/connectortest/fault"
	"github.com/quiver-etl/quiver/sdk/protocol"
)

// callTimeout bounds one call into the connector: a read of a small data
// set with one fault each takes seconds (a 429 without Retry-After costs
// the client's rate-limit floor), so a minute means it hangs.
const callTimeout = time.Minute

// maxReports bounds the records a check reports per stream, so that a
// connector that drops everything does not flood the log.
const maxReports = 5

// tokenTTL is the token lifetime of the token-expiry case: short enough
// that holding a read past it costs the real-time runs little.
const tokenTTL = 2 * time.Second

// tokenHold is how long after the first data request of the token-expiry
// read every later one is held: past the life of any token issued before
// the first request was answered, so that the read must renew its token.
const tokenHold = tokenTTL + tokenTTL/4

// lagRequests is how many data requests with each fresh token the
// simulator refuses in the replication-lag case.
const lagRequests = 2

// maxConcurrent bounds the checks of one Run that run at the same time.
// They mostly wait (on backoff, tokens, slow answers), so far more than
// go test's -parallel default of one per core fit; each holds a simulator
// and, in the plugin mode, a plugin process.
const maxConcurrent = 8

// run is Run on any tb.
func run(t tb, s Suite) {
	t.Helper()
	if s.Connector == nil || s.Start == nil {
		t.Fatalf("connectortest: the Suite needs a Connector and a Start function")
	}
	slots := make(chan struct{}, maxConcurrent)
	t.Run("inprocess", func(t tb) {
		t.Parallel()
		m := mode{open: func(TB) target { return newInProcess(s.Connector) }}
		if s.Clocked != nil {
			m.clocked = func(clk *Clock, timer *Timer) target { return newInProcess(s.Clocked(clk, timer)) }
		}
		(&checker{s: s, mode: m, slots: slots}).all(t)
	})
	if s.Plugin == "" {
		return
	}
	t.Run("plugin", func(t tb) {
		t.Parallel()
		// Built here, so that a -run that leaves the plugin out builds
		// nothing; the binary lives until the plugin checks are done.
		bin := buildPlugin(t, s.Plugin)
		m := mode{open: func(t TB) target { return openPlugin(t, bin) }}
		(&checker{s: s, mode: m, slots: slots}).all(t)
	})
}

// checker runs the checks of one mode.
type checker struct {
	s     Suite
	mode  mode
	slots chan struct{} // one per running check, shared by the modes
}

// all runs every check as a subtest of t.
func (c *checker) all(t tb) {
	c.add(t, "spec", c.spec)
	c.add(t, "check", c.check)
	c.add(t, "discover", c.discover)
	c.add(t, "read", func(t TB) { c.read(t, readCase{values: true}) })
	for _, fc := range faultCases() {
		c.add(t, "faults/"+fc.name, func(t TB) { c.read(t, fc) })
	}
	for _, v := range c.s.Variants {
		c.add(t, "variant/"+v, func(t TB) { c.read(t, readCase{opts: SimOptions{Variant: v}}) })
	}
	c.add(t, "resume", c.resume)
}

// add runs check as the subtest name of t. The check starts at once, on a
// recorder, in a goroutine of its own (at most maxConcurrent at a time),
// and the subtest, parallel, waits for it and reports what it reported:
// so every check of a Run overlaps the others, beyond go test's
// -parallel limit, and -run still picks the checks that run.
func (c *checker) add(t tb, name string, check func(TB)) {
	t.Run(name, func(t tb) {
		rec := &recorder{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.slots <- struct{}{}
			defer func() { <-c.slots }()
			rec.run(check)
		}()
		t.Parallel()
		<-done
		rec.replay(t)
	})
}

// start starts a simulator and a target for one check.
func (c *checker) start(t TB, opts SimOptions) (*Sim, target) {
	t.Helper()
	return c.startWith(t, opts, c.mode.open)
}

// startWith starts a simulator and the target open returns.
func (c *checker) startWith(t TB, opts SimOptions, open func(TB) target) (*Sim, target) {
	t.Helper()
	sim := c.s.Start(t, opts)
	if sim == nil || sim.Config == nil || sim.Records == nil {
		t.Fatalf("Suite.Start returned a Sim without Config or Records")
	}
	return sim, open(t)
}

// callCtx bounds one check's calls into the connector.
func callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}

// mustSpec returns the target's Spec or ends the test.
func mustSpec(ctx context.Context, t TB, tg target) *protocol.Spec {
	t.Helper()
	spec, err := tg.spec(ctx)
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	return spec
}

// spec checks the Spec and the config schema.
func (c *checker) spec(t TB) {
	sim, tg := c.start(t, SimOptions{})
	ctx, cancel := callCtx()
	defer cancel()
	spec := mustSpec(ctx, t, tg)
	if spec.Name == "" || spec.Version == "" {
		t.Errorf("Spec() name %q, version %q: want both set", spec.Name, spec.Version)
	}
	if spec.ProtocolVersion != protocol.Version {
		t.Errorf("Spec() protocol version %d, want %d", spec.ProtocolVersion, protocol.Version)
	}
	if c.s.Plugin != "" && path.Base(c.s.Plugin) != "quiver-"+spec.Name {
		t.Errorf("plugin main %s: the binary of connector %q must be quiver-%s", c.s.Plugin, spec.Name, spec.Name)
	}
	if len(spec.ConfigSchema) == 0 {
		t.Fatalf("Spec() has no config schema")
	}
	for _, cfg := range []struct {
		name string
		raw  []byte
	}{{"Config", sim.Config}, {"BadConfig", sim.BadConfig}} {
		if cfg.raw == nil {
			continue
		}
		var v map[string]any
		if err := sdk.DecodeConfig(cfg.raw, &v, spec.ConfigSchema); err != nil {
			t.Errorf("the simulator's %s does not validate against the config schema: %v", cfg.name, err)
		}
	}
	var schema struct {
		Properties map[string]struct {
			WriteOnly bool `json:"writeOnly"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(spec.ConfigSchema, &schema); err != nil {
		t.Fatalf("config schema: %v", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(sim.Config, &cfg); err != nil {
		t.Fatalf("Sim.Config: %v", err)
	}
	for key, v := range cfg {
		if s, ok := v.(string); ok && slices.Contains(sim.Secrets, s) && !schema.Properties[key].WriteOnly {
			t.Errorf("config key %q holds a secret but is not \"writeOnly\" in the config schema", key)
		}
	}
}

// check checks Check with good and bad credentials.
func (c *checker) check(t TB) {
	sim, tg := c.start(t, SimOptions{})
	ctx, cancel := callCtx()
	defer cancel()
	var errs []string
	if err := tg.check(ctx, sim.Config); err != nil {
		t.Errorf("Check with good credentials: %v", err)
		errs = append(errs, err.Error())
	}
	if sim.BadConfig != nil {
		err := tg.check(ctx, sim.BadConfig)
		switch {
		case err == nil:
			t.Errorf("Check with bad credentials passed, want an error wrapping sdk.ErrAuth")
		case !errors.Is(err, sdk.ErrAuth):
			t.Errorf("Check with bad credentials = %v, want an error wrapping sdk.ErrAuth", err)
		}
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	noSecrets(t, sim, map[string]string{"logs": tg.logs(), "errors": strings.Join(errs, "\n")})
}

// discover checks that the catalog has every stream, well formed.
func (c *checker) discover(t TB) {
	sim, tg := c.start(t, SimOptions{})
	ctx, cancel := callCtx()
	defer cancel()
	spec := mustSpec(ctx, t, tg)
	cat, err := tg.discover(ctx, sim.Config)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	names := map[string]bool{}
	for _, st := range cat.Streams {
		if names[st.Name] {
			t.Errorf("Discover returned stream %q twice", st.Name)
		}
		names[st.Name] = true
		checkStream(t, st)
	}
	want := sim.Streams
	if want == nil {
		want = spec.Streams
	}
	for _, name := range append(slices.Clone(want), spec.Streams...) {
		if !names[name] {
			t.Errorf("Discover did not return stream %q", name)
		}
	}
	noSecrets(t, sim, map[string]string{"logs": tg.logs(), "catalog": catalogText(cat)})
}

// checkStream checks one catalog stream.
func checkStream(t TB, st protocol.Stream) {
	t.Helper()
	if st.Schema == nil {
		t.Errorf("stream %s has no schema", st.Name)
		return
	}
	if len(st.PrimaryKey) == 0 {
		t.Errorf("stream %s has no primary key", st.Name)
	}
	for _, k := range st.PrimaryKey {
		if st.Schema.FieldIndices(k) == nil {
			t.Errorf("stream %s: primary key column %q is not in the schema", st.Name, k)
		}
	}
	if st.CursorField != "" && st.Schema.FieldIndices(st.CursorField) == nil {
		t.Errorf("stream %s: cursor field %q is not in the schema", st.Name, st.CursorField)
	}
	if len(st.SyncModes) == 0 {
		t.Errorf("stream %s has no sync modes", st.Name)
	}
	for _, m := range st.SyncModes {
		if m != protocol.FullRefresh && m != protocol.Incremental {
			t.Errorf("stream %s: unknown sync mode %q", st.Name, m)
		}
	}
}

// catalogText is everything a catalog says, for the secrets check.
func catalogText(cat *protocol.Catalog) string {
	var b strings.Builder
	for _, st := range cat.Streams {
		fmt.Fprintln(&b, st.Name, st.Description, st.PrimaryKey, st.CursorField)
		if st.Schema != nil {
			fmt.Fprintln(&b, st.Schema.String())
		}
	}
	return b.String()
}

// A readCase is one full read: the simulator's options, what to script,
// and what to check beyond every record landing exactly once.
type readCase struct {
	name string
	opts SimOptions
	// needs reports whether the simulator supports the case; nil means
	// always.
	needs func(*Sim) bool
	// before runs before the read, firstBatch at its first batch.
	before, firstBatch func(*Sim)
	// logins: the read must log in at most once.
	logins bool
	// renews: the read's data requests after its first are held past the
	// first token's life (tokenGate), and the read must ask for a new one.
	renews bool
	// values: compare values, not only keys.
	values bool
	// clocked: the case waits in real time unless the connector and the
	// simulator run on a Clock (Suite.Clocked, in process).
	clocked bool
}

// faultCases is the fault matrix: one case per fault, each scripted once
// at the start of the read and once after its first batch (a 429 without
// Retry-After only after the first batch).
func faultCases() []readCase {
	hasFaults := func(s *Sim) bool { return s.Faults != nil }
	cases := []readCase{
		{
			name:   "lag_401",
			needs:  func(s *Sim) bool { return s.SetLag != nil && s.Logins != nil },
			before: func(s *Sim) { s.SetLag(lagRequests) },
			logins: true,
		},
		{
			// Tokens that live tokenTTL, and a read held past the first
			// one's life: the connector must renew it as it goes.
			name:    "token_expiry",
			opts:    SimOptions{TokenTTL: tokenTTL},
			needs:   func(s *Sim) bool { return s.Logins != nil && s.Faults != nil },
			renews:  true,
			clocked: true,
		},
	}
	for _, k := range []fault.Kind{fault.RateLimit, fault.RateLimitDate, fault.RateLimitBare, fault.ServerError, fault.Reset, fault.Truncate, fault.Malformed, fault.Slow} {
		script := func(s *Sim) { s.Faults.FailNext(1, k) }
		rc := readCase{name: k.String(), needs: hasFaults, before: script, firstBatch: script}
		if k == fault.RateLimitBare {
			// Clients wait out a 429 without Retry-After at a floor of
			// seconds (Capillary's is 20 s): one is enough.
			rc.before, rc.clocked = nil, true
		}
		cases = append(cases, rc)
	}
	for i := range cases {
		cases[i].opts.Faults = true
		cases[i].values = true
	}
	return cases
}

// read runs one full read of every stream and checks that every record
// lands exactly once.
func (c *checker) read(t TB, rc readCase) {
	open, clk := c.mode.open, (*Clock)(nil)
	if rc.clocked && c.mode.clocked != nil {
		// The connector's waits move the clock, and so does the token
		// case's hold, instead of holding requests in real time.
		clk = NewClock(time.Now().UTC().Truncate(time.Second))
		rc.opts.Now = clk.Now
		open = func(TB) target { return c.mode.clocked(clk, NewTimer(clk)) }
	}
	sim, tg := c.startWith(t, rc.opts, open)
	if rc.needs != nil && !rc.needs(sim) {
		t.Logf("the simulator has no hook for this case; skipped")
		return
	}
	ctx, cancel := callCtx()
	defer cancel()
	cat, err := tg.discover(ctx, sim.Config)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if rc.before != nil {
		rc.before(sim)
	}
	var gate *tokenGate
	if rc.renews {
		gate = &tokenGate{clk: clk}
		sim.Faults.Set(fault.Options{Before: gate.hold})
	}
	col := newCollector(cat)
	if rc.firstBatch != nil {
		col.firstBatch = func() { rc.firstBatch(sim) }
	}
	logins := 0
	if sim.Logins != nil {
		logins = sim.Logins()
	}
	now := time.Now
	if clk != nil {
		now = clk.Now
	}
	began := now()
	err = tg.read(ctx, sim.Config, readRequest(cat, nil), col)
	took := now().Sub(began)
	if err != nil {
		t.Errorf("Read: %v", err)
	}
	if rc.renews {
		switch n, reqs := sim.Logins()-logins, gate.requests(); {
		case reqs < 2:
			t.Errorf("the read made %d data request(s) through Sim.Faults; the token_expiry case holds every request after the first until that one's token has expired, so it needs two or more: give the simulator more pages, and wrap every data endpoint with Sim.Faults", reqs)
		case n < 2:
			t.Errorf("the read took %v with tokens that live %v, its data requests after the first held %v, but asked for %d token(s): it never renewed its token (is SimOptions.TokenTTL applied?)", took.Round(time.Millisecond), tokenTTL, tokenHold, n)
		}
	}
	if rc.logins {
		if n := sim.Logins() - logins; n > 1 {
			t.Errorf("the read logged in %d times while the simulator answered the first %d requests of each new token with 401: a 401 on a token inside its replication-lag grace must be retried with the same token, not with a new login", n, lagRequests)
		}
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, p := range col.problems {
		t.Errorf("%s", p)
	}
	for _, st := range cat.Streams {
		l := col.stream(st.Name)
		if l.final() != sdk.Complete {
			t.Errorf("stream %s ended %v, want complete (errors: %v)", st.Name, l.final(), l.errs)
		}
		c.exactlyOnce(t, sim, st, rowsOf(l.rows), 0, rc.values)
	}
	noSecrets(t, sim, readTexts(tg, col, err))
}

// A tokenGate makes the token_expiry read outlive its first token: the
// first data request goes through at once, and every later one is held
// until tokenHold after it, so that the token any of them carries, issued
// before the first was answered, has expired. Real time holds them; on a
// Clock the first held request moves the clock instead. Requests after
// the hold go through at once. It is safe for concurrent use.
type tokenGate struct {
	clk *Clock // nil: real time

	mu    sync.Mutex
	first time.Time // when the first request went through
	n     int       // requests seen
}

// hold is the gate, as fault.Options.Before.
func (g *tokenGate) hold(r *http.Request) {
	until, ok := g.pass()
	if ok {
		return
	}
	select {
	case <-time.After(time.Until(until)):
	case <-r.Context().Done():
	}
}

// pass counts a request and reports whether it goes through at once, or
// else until when it must wait (in real time).
func (g *tokenGate) pass() (until time.Time, now bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	if g.clk == nil {
		if g.n == 1 {
			g.first = time.Now()
			return time.Time{}, true
		}
		return g.first.Add(tokenHold), false
	}
	if g.n == 1 {
		g.first = g.clk.Now()
	} else if d := g.first.Add(tokenHold).Sub(g.clk.Now()); d > 0 {
		g.clk.Advance(d)
	}
	return time.Time{}, true
}

// requests returns how many data requests went through the gate.
func (g *tokenGate) requests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// rowsOf wraps rows as one read's.
func rowsOf(rows []map[string]any) [][]map[string]any { return [][]map[string]any{rows} }

// readRequest asks for every stream of cat in the mode the host would
// choose (incremental where the stream has it), from states.
func readRequest(cat *protocol.Catalog, states map[string]json.RawMessage) sdk.ReadRequest {
	var req sdk.ReadRequest
	for _, st := range cat.Streams {
		req.Streams = append(req.Streams, sdk.StreamRequest{Name: st.Name, Mode: modeOf(st), State: states[st.Name]})
	}
	return req
}

// modeOf is the mode the host reads st in.
func modeOf(st protocol.Stream) sdk.SyncMode {
	if slices.Contains(st.SyncModes, protocol.Incremental) {
		return sdk.Incremental
	}
	return sdk.FullRefresh
}

// exactlyOnce checks the rows of one stream, from one or more reads (the
// committed part of an interrupted read and its resumption), against what
// the simulator holds: every record, by primary key, once within each read
// and in at most one read, except that up to rereads keys may land in more
// than one (all of them when rereads is negative); with the simulator's
// values when values is set (the last copy of a key is compared).
func (c *checker) exactlyOnce(t TB, sim *Sim, st protocol.Stream, reads [][]map[string]any, rereads int, values bool) {
	t.Helper()
	if st.Schema == nil || len(st.PrimaryKey) == 0 {
		return // discover reports it
	}
	reports := 0
	report := func(format string, args ...any) {
		if reports++; reports <= maxReports {
			t.Errorf("stream %s: "+format, append([]any{st.Name}, args...)...)
		}
	}
	got := map[string]map[string]any{}
	seen := map[string]int{}
	for _, rows := range reads {
		inRead := map[string]int{}
		for _, row := range rows {
			k := keyOf(st.PrimaryKey, row)
			inRead[k]++
			if inRead[k] == 2 {
				report("key %s landed more than once in one read", k)
			}
			got[k] = row
		}
		for k := range inRead {
			seen[k]++
		}
	}
	var again []string
	for k, n := range seen {
		if n > 1 {
			again = append(again, k)
		}
	}
	if rereads >= 0 && len(again) > rereads {
		sort.Strings(again)
		report("%d keys landed in both the interrupted read and its resumption (%s), want at most %d: a resumed read must not repeat what its checkpoint covers", len(again), keyList(again), rereads)
	}
	recs, err := sim.Records(st.Name)
	if errors.Is(err, ErrNotHeld) {
		return
	}
	if err != nil {
		t.Errorf("Sim.Records(%q): %v", st.Name, err)
		return
	}
	ignore := c.s.Ignore[st.Name]
	want := map[string]bool{}
	for _, rec := range recs {
		exp, err := Expect(st.Schema, rec)
		if err != nil {
			t.Errorf("stream %s: Expect: %v", st.Name, err)
			return
		}
		k := keyOf(st.PrimaryKey, exp)
		want[k] = true
		row, ok := got[k]
		if !ok {
			report("key %s is missing: the simulator holds it and the read did not land it", k)
			continue
		}
		if !values {
			continue
		}
		if diff := cmp.Diff(exp, forCompare(row, ignore, exp)); diff != "" {
			report("key %s mismatch (-simulator +read):\n%s", k, diff)
		}
	}
	var extra []string
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		report("key %s landed but the simulator does not hold it", k)
	}
}

// forCompare returns row without lineage columns and ignored columns
// (which are set to exp's values), for comparing with exp. A rescued value
// stays and fails the comparison: the simulator's default shapes fit the
// schema.
func forCompare(row map[string]any, ignore []string, exp map[string]any) map[string]any {
	out := make(map[string]any, len(row))
	for k, v := range row {
		if strings.HasPrefix(k, "_quiver_") && k != rescueColumn {
			continue
		}
		out[k] = v
	}
	if out[rescueColumn] == nil {
		delete(out, rescueColumn)
	}
	for _, k := range ignore {
		if v, ok := exp[k]; ok {
			out[k] = v
		} else {
			delete(out, k)
		}
	}
	return out
}

// keyList renders keys for a message, the first maxReports of them.
func keyList(keys []string) string {
	if len(keys) > maxReports {
		return strings.Join(keys[:maxReports], ", ") + ", ..."
	}
	return strings.Join(keys, ", ")
}

// rescueColumn is the column holding what a schema could not take
// (records.RescueColumn).
const rescueColumn = "_quiver_rescued"

// keyOf renders the primary key of row.
func keyOf(pk []string, row map[string]any) string {
	parts := make([]string, len(pk))
	for i, k := range pk {
		parts[i] = fmt.Sprint(row[k])
	}
	return strings.Join(parts, "/")
}

// resume counts the checkpoints of a full read, interrupts a second read
// after half of them, resumes it from the last checkpoint of each stream,
// and checks that together the committed part and the resumption land
// every record once.
func (c *checker) resume(t TB) {
	sim, tg := c.start(t, SimOptions{})
	ctx, cancel := callCtx()
	defer cancel()
	cat, err := tg.discover(ctx, sim.Config)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	count := newCollector(cat)
	if err := tg.read(ctx, sim.Config, readRequest(cat, nil), count); err != nil {
		t.Fatalf("Read: %v", err)
	}
	incremental := slices.ContainsFunc(cat.Streams, func(st protocol.Stream) bool { return modeOf(st) == sdk.Incremental })
	switch {
	case count.ncp == 0 && incremental:
		t.Fatalf("a full read sent no checkpoint, though it has incremental streams")
	case count.ncp == 0:
		t.Logf("no stream is incremental and the read sent no checkpoint: nothing to resume")
		return
	}
	after := (count.ncp + 1) / 2

	first := newCollector(cat)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	first.onCheckpoint = func(n int) error {
		if n < after {
			return nil
		}
		first.stop(context.Canceled)
		stop()
		return context.Canceled
	}
	err1 := tg.read(rctx, sim.Config, readRequest(cat, nil), first)
	if first.ncp < after {
		t.Fatalf("the read sent %d checkpoints, then %d before it ended (read error: %v)", count.ncp, first.ncp, err1)
	}

	states := map[string]json.RawMessage{}
	committed := map[string][]map[string]any{}
	for _, st := range cat.Streams {
		if modeOf(st) != sdk.Incremental {
			continue // a full refresh that did not complete is dropped whole
		}
		rows, state := first.stream(st.Name).committed()
		committed[st.Name], states[st.Name] = rows, state
	}
	second := newCollector(cat)
	err2 := tg.read(ctx, sim.Config, readRequest(cat, states), second)
	if err2 != nil {
		t.Errorf("resumed Read: %v", err2)
	}
	for _, p := range append(first.problems, second.problems...) {
		t.Errorf("%s", p)
	}
	for _, st := range cat.Streams {
		l := second.stream(st.Name)
		if l.final() != sdk.Complete {
			t.Errorf("stream %s: the resumed read ended %v, want complete (errors: %v)", st.Name, l.final(), l.errs)
		}
		// Only a lookback window, or the margin the Suite declares, may be
		// read again; the rest of what the checkpoint covers may not.
		done := committed[st.Name]
		c.exactlyOnce(t, sim, st, [][]map[string]any{done, l.rows}, c.rereads(st), true)
		if full := len(count.stream(st.Name).rows); st.Updates != protocol.Lookback && len(done) > 0 && len(l.rows) >= full {
			t.Errorf("stream %s: resumed from a checkpoint covering %d records, the read sent %d, as many as a full read (%d): it did not resume from its checkpoint", st.Name, len(done), len(l.rows), full)
		}
	}
	texts := readTexts(tg, first, err1)
	for k, v := range readTexts(tg, second, err2) {
		texts[k] += v
	}
	noSecrets(t, sim, texts)
}

// rereads is how many keys a resumed read of st may land again that the
// interrupted read committed: any for a lookback stream, Suite.Rereads's
// bound for the streams it names, none for the others.
func (c *checker) rereads(st protocol.Stream) int {
	if st.Updates == protocol.Lookback {
		return -1
	}
	return c.s.Rereads[st.Name]
}

// readTexts is everything a read produced, by where it went, for the
// secrets check. The caller holds col.mu or is done with col.
func readTexts(tg target, col *collector, err error) map[string]string {
	var errs, states, rows strings.Builder
	if err != nil {
		fmt.Fprintln(&errs, err)
	}
	for _, l := range col.streams {
		for _, e := range l.errs {
			fmt.Fprintln(&errs, e)
		}
		for _, cp := range l.checkpoints {
			fmt.Fprintln(&states, string(cp.state))
		}
		for _, r := range l.rows {
			fmt.Fprintln(&rows, r)
		}
	}
	return map[string]string{"logs": tg.logs(), "errors": errs.String(), "state": states.String(), "records": rows.String()}
}

// noSecrets fails t for every secret of sim found in texts (by where they
// went). It names the secret by its length, never by its value.
func noSecrets(t TB, sim *Sim, texts map[string]string) {
	t.Helper()
	where := make([]string, 0, len(texts))
	for w := range texts {
		where = append(where, w)
	}
	sort.Strings(where)
	for i, s := range sim.Secrets {
		if s == "" {
			continue
		}
		for _, w := range where {
			if strings.Contains(texts[w], s) {
				t.Errorf("secret %d of Sim.Secrets (%d bytes) appears in the %s", i, len(s), w)
			}
		}
	}
}
