package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/connectors/tracktik"
	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
	"github.com/quiver-etl/quiver/host/sink"
	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
)

// bench holds what every stage shares: the simulator, a token, the
// stream's schema and the size of its pages.
type bench struct {
	flags
	srv    *tracktiksim.Server
	quiver string
	tmp    string

	hc        *http.Client
	token     string
	sc        *schemas.Stream
	pageType  reflect.Type // {"data": [record struct]} for encoding/json
	pages     int
	jsonBytes int64 // bytes of all page bodies
	config    string
	e2eRuns   int
	cacheOn   bool // the simulator's page cache is on and warm
}

// A stage is one measured piece of work.
type stage struct {
	name string
	// prepare runs untimed before run and returns its input.
	prepare func(b *bench, ctx context.Context) (any, error)
	// run does the timed work and returns the records it handled.
	run func(b *bench, ctx context.Context, in any, r *result) (int64, error)
	// child marks a stage whose work runs in child processes (end to end):
	// it measures its own CPU and memory.
	child bool
	// cached marks a stage that runs with the simulator's page cache on
	// (flag -sim-cache). The other stages run with it off and empty: a
	// cache of every page would count in their peak RSS.
	cached bool
}

// result is one measurement of a stage.
type result struct {
	records int64
	seconds float64
	cpu     float64 // CPU seconds of every process involved, the simulator's included
	rss     int64   // peak RSS in bytes: the bench process (in-process stages) or the host
	plugin  int64   // the plugin's peak RSS in bytes (end to end)
	simCPU  float64 // end to end: the simulator's (this process's) share of cpu
	wall    float64 // end to end: the stream's own seconds, as the host reports them
	out     int64   // bytes of the files written (sink, end to end)
}

// stages lists every stage in the order they run.
func allStages() []stage {
	return []stage{
		{name: "fetch", run: (*bench).fetchOnly},
		{name: "floor json", run: (*bench).floorJSON},
		{name: "floor arrow", run: (*bench).floorArrow},
		{name: "connector", run: (*bench).connector, cached: true},
		{name: "sink", prepare: (*bench).decodeToFile, run: (*bench).sink},
		{name: "pipeline", run: (*bench).pipeline, cached: true},
		{name: "end to end", run: (*bench).endToEnd, child: true, cached: true},
	}
}

// baselineStage is the end-to-end stage run with the build in -baseline,
// after this build's in every round, so that both meet the same load.
var baselineStage = stage{name: "baseline e2e", run: (*bench).baselineEndToEnd, child: true, cached: true}

func stageList() string {
	var names []string
	for _, s := range allStages() {
		names = append(names, strconv.Quote(s.name))
	}
	return strings.Join(names, ", ")
}

// selectStages returns the stages named in list (comma-separated), or all.
func selectStages(list string) ([]stage, error) {
	all := allStages()
	if list == "" {
		return all, nil
	}
	var out []stage
	for _, n := range strings.Split(list, ",") {
		i := slices.IndexFunc(all, func(s stage) bool { return s.name == strings.TrimSpace(n) })
		if i < 0 {
			return nil, fmt.Errorf("no stage %q; have %s", n, stageList())
		}
		out = append(out, all[i])
	}
	return out, nil
}

// setup gets a token, loads the schema, writes the end-to-end config and
// sizes the pages by fetching them once.
func (b *bench) setup(ctx context.Context) error {
	t := http.DefaultTransport.(*http.Transport).Clone()
	b.hc = &http.Client{Transport: t, Timeout: time.Minute}
	sc, err := schemas.Load("tracktik", b.stream)
	if err != nil {
		return err
	}
	b.sc = sc
	b.pageType = pageType(sc.Schema)
	if b.token, err = b.login(ctx); err != nil {
		return err
	}
	if err := b.writeConfig(); err != nil {
		return err
	}
	var r result
	if _, err := b.fetchOnly(ctx, nil, &r); err != nil {
		return fmt.Errorf("size the pages: %w", err)
	}
	return nil
}

// close closes the idle connections of the stages' HTTP client.
func (b *bench) close() {
	if b.hc != nil {
		b.hc.CloseIdleConnections()
	}
}

// login gets an access token with the password grant, as the connector does.
func (b *bench) login(ctx context.Context) (string, error) {
	form := url.Values{
		"grant_type":    {"password"},
		"client_id":     {tracktiksim.ClientID},
		"client_secret": {tracktiksim.ClientSecret},
		"username":      {tracktiksim.Username},
		"password":      {tracktiksim.Password},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.srv.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return "", fmt.Errorf("login: status %d, decode: %v", resp.StatusCode, err)
	}
	return tok.AccessToken, nil
}

// each fetches the stream's pages in order, as the connector asks for them
// (sort=id, limit/offset, one at a time on one keep-alive connection), and
// passes each body to fn, which must not keep it. It returns the pages and
// bytes read.
func (b *bench) each(ctx context.Context, fn func(body []byte) error) (pages int, n int64, err error) {
	var buf bytes.Buffer
	base := b.srv.URL + b.sc.Path
	for off := 0; off < b.records; off += b.pageSize {
		q := url.Values{"sort": {"id"}, "limit": {strconv.Itoa(b.pageSize)}, "offset": {strconv.Itoa(off)}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"?"+q.Encode(), nil)
		if err != nil {
			return pages, n, err
		}
		req.Header.Set("Authorization", "Bearer "+b.token)
		req.Header.Set("Accept", "application/json")
		resp, err := b.hc.Do(req)
		if err != nil {
			return pages, n, fmt.Errorf("page offset=%d: %w", off, err)
		}
		buf.Reset()
		_, err = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil {
			return pages, n, fmt.Errorf("page offset=%d: %w", off, err)
		}
		if resp.StatusCode != http.StatusOK {
			return pages, n, fmt.Errorf("page offset=%d: status %d", off, resp.StatusCode)
		}
		pages++
		n += int64(buf.Len())
		if fn != nil {
			if err := fn(buf.Bytes()); err != nil {
				return pages, n, fmt.Errorf("page offset=%d: %w", off, err)
			}
		}
	}
	return pages, n, nil
}

// fetchOnly reads the pages and drops them. The first call sizes them.
func (b *bench) fetchOnly(ctx context.Context, _ any, _ *result) (int64, error) {
	pages, n, err := b.each(ctx, nil)
	if err != nil {
		return 0, err
	}
	if b.jsonBytes == 0 {
		b.pages, b.jsonBytes = pages, n
	} else if n != b.jsonBytes {
		return 0, fmt.Errorf("the simulator served %d bytes, earlier %d: pages differ between runs", n, b.jsonBytes)
	}
	return int64(b.records), nil
}

// floorJSON decodes every page with encoding/json into structs shaped like
// the stream's schema (strings for dates and times): what a Go program
// that only reads the API would do.
func (b *bench) floorJSON(ctx context.Context, _ any, _ *result) (int64, error) {
	var rows int64
	_, _, err := b.each(ctx, func(body []byte) error {
		v := reflect.New(b.pageType)
		if err := json.Unmarshal(body, v.Interface()); err != nil {
			return err
		}
		rows += int64(v.Elem().Field(0).Len())
		return nil
	})
	return rows, err
}

// floorArrow decodes every page into Arrow with sdk/records, the plugin's
// decoder, and drops the records.
func (b *bench) floorArrow(ctx context.Context, _ any, _ *result) (int64, error) {
	var rows int64
	err := b.decode(ctx, func(rec arrow.Record) { rows += rec.NumRows() })
	return rows, err
}

// decode fetches and decodes every page, passing each record to fn, which
// must Retain what it keeps.
func (b *bench) decode(ctx context.Context, fn func(arrow.Record)) error {
	dec := records.NewDecoder(memory.NewGoAllocator(), b.sc.Schema, records.Options{Stream: b.stream, Records: []string{"data"}})
	defer dec.Release()
	_, _, err := b.each(ctx, func(body []byte) error {
		p, err := dec.Decode(body)
		if err != nil {
			return err
		}
		fn(p.Record)
		p.Record.Release()
		return nil
	})
	return err
}

// decodeToFile decodes every page into Arrow records and writes them to
// an Arrow IPC stream file, for the sink stage: it returns the file's path.
// The pages' records are joined into batches of up to batch.JoinBytes, as
// the plugin's Writer joins them; read back batch by batch, they reach the
// sink as the host gets them from the plugin, and the stage's peak RSS is
// the sink's (with the simulator's), not that of the whole input held in
// memory.
func (b *bench) decodeToFile(ctx context.Context) (any, error) {
	path := filepath.Join(b.tmp, "sink-input.arrows")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := ipc.NewWriter(f, ipc.WithSchema(records.WithRescue(b.sc.Schema)))
	j := joiner{mem: memory.NewGoAllocator(), emit: w.Write}
	err = b.decode(ctx, j.add)
	j.flush()
	if err := errors.Join(err, j.err, w.Close(), f.Close()); err != nil {
		return nil, fmt.Errorf("write the sink's input %s: %w", path, err)
	}
	return path, nil
}

// sink reads the decoded records from their IPC file and writes them to a
// Parquet part as the host does: lineage columns, the codec of
// -compression, fsync, publish.
func (b *bench) sink(_ context.Context, in any, r *result) (int64, error) {
	path := in.(string)
	defer os.Remove(path)
	src, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	dir := filepath.Join(b.tmp, "sink")
	defer os.RemoveAll(dir)
	mem := memory.NewGoAllocator()
	rd, err := ipc.NewReader(src, ipc.WithAllocator(mem))
	if err != nil {
		return 0, err
	}
	defer rd.Release()
	p, err := b.createPart(dir, rd.Schema(), mem)
	if err != nil {
		return 0, err
	}
	defer p.Abort()
	runID, at := "20260101T000000Z-000000", time.Now()
	for rd.Next() {
		lr := sink.AddLineage(mem, rd.Record(), runID, at)
		err := p.Write(lr)
		lr.Release()
		if err != nil {
			return 0, err
		}
	}
	if err := rd.Err(); err != nil {
		return 0, fmt.Errorf("read the sink's input: %w", err)
	}
	return publishPart(p, r)
}

// createPart creates the Parquet part of the sink and pipeline stages in
// dir, for records of schema with the lineage columns added, compressed
// as -compression says.
func (b *bench) createPart(dir string, schema *arrow.Schema, mem memory.Allocator) (sink.Part, error) {
	return sink.Create(dir, "part-bench", sink.LineageSchema(schema), sink.Options{
		Format: sink.Parquet, Allocator: mem,
		Compression: sink.Compression(b.compression), CompressionLevel: b.compressionLevel,
	})
}

// publishPart finishes p, publishes its file and returns its rows, with
// its size in r.out.
func publishPart(p sink.Part, r *result) (int64, error) {
	f, err := p.Finish()
	if err != nil {
		return 0, err
	}
	if err := sink.Publish(f); err != nil {
		return 0, err
	}
	r.out = f.Bytes
	return f.Rows, nil
}

// connector runs the tracktik connector's Read in-process with a Writer
// that drops the batches: the plugin's work without the process boundary.
func (b *bench) connector(ctx context.Context, _ any, _ *result) (int64, error) {
	src, err := tracktik.New().Open(ctx, []byte(b.connectorConfig()))
	if err != nil {
		return 0, err
	}
	defer src.Close()
	w := &dropWriter{}
	err = src.Read(ctx, sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: b.stream, Mode: sdk.FullRefresh}}}, w)
	if err == nil && w.failed.Load() != nil {
		err = w.failed.Load()
	}
	return w.rows.Load(), err
}

// connectorConfig is the connector's JSON config for the simulator.
func (b *bench) connectorConfig() string {
	cfg := map[string]any{
		"base_url":      b.srv.URL,
		"client_id":     tracktiksim.ClientID,
		"client_secret": tracktiksim.ClientSecret,
		"username":      tracktiksim.Username,
		"password":      tracktiksim.Password,
		"start_date":    "2024-01-01",
		"page_size":     b.pageSize,
	}
	if b.conc > 0 {
		cfg["concurrency"] = b.conc
	}
	text, _ := json.Marshal(cfg)
	return string(text)
}

// dropWriter is an sdk.Writer that counts rows and keeps nothing.
type dropWriter struct {
	rows   atomic.Int64
	failed atomic.Pointer[streamError]
}

// streamError is a stream's Failed status.
type streamError struct{ err error }

func (e *streamError) Error() string { return e.err.Error() }

func (w *dropWriter) WriteBatch(_ context.Context, _ string, rec arrow.Record) error {
	w.rows.Add(rec.NumRows())
	return nil
}

func (w *dropWriter) Checkpoint(context.Context, string, json.RawMessage) error { return nil }

func (w *dropWriter) Status(_ context.Context, stream string, st sdk.Status) error {
	if st.State == sdk.Failed || st.State == sdk.Incomplete {
		w.failed.Store(&streamError{fmt.Errorf("stream %s %s: %w", stream, st.State, st.Err)})
	}
	return nil
}

func (w *dropWriter) Progress(context.Context, string, sdk.Progress) error { return nil }

// measure runs stage s once. In-process stages are measured here: wall
// time, this process's CPU time and its peak RSS since the stage began.
func (b *bench) measure(ctx context.Context, s stage, last bool) (result, error) {
	var r result
	var in any
	if err := b.cachePages(ctx, b.simCache && s.cached); err != nil {
		return r, err
	}
	if s.prepare != nil {
		var err error
		if in, err = s.prepare(b, ctx); err != nil {
			return r, err
		}
	}
	if s.child {
		n, err := s.run(b, ctx, in, &r)
		r.records = n
		return r, err
	}
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	if last && b.profile != "" {
		if stop, err := startProfile(b.profile, s.name); err != nil {
			return r, err
		} else {
			defer stop()
		}
	}
	cpu0 := selfCPU()
	t0 := time.Now()
	n, err := s.run(b, ctx, in, &r)
	r.seconds = since(t0)
	r.cpu = selfCPU() - cpu0
	r.rss = peakRSS(os.Getpid())
	r.records = n
	if err == nil && n != int64(b.records) {
		err = fmt.Errorf("handled %d records, want %d", n, b.records)
	}
	return r, err
}

// cachePages turns the simulator's page cache on or off. Turned on, it is
// filled by an untimed read of the stream through the connector, which asks
// for the same pages as the connector and end-to-end stages.
func (b *bench) cachePages(ctx context.Context, on bool) error {
	if on == b.cacheOn {
		return nil
	}
	b.srv.CachePages(on)
	b.cacheOn = on
	if !on {
		return nil
	}
	if _, err := b.connector(ctx, nil, nil); err != nil {
		return fmt.Errorf("fill the simulator's page cache: %w", err)
	}
	return nil
}

// startProfile starts a CPU profile of stage into dir/<stage>.pprof.
func startProfile(dir, stage string) (stop func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(stage, " ", "-")+".pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// pageType returns the type of {"data": [record]} for schema, for
// encoding/json: int64, float64, bool and string fields (strings for dates
// and timestamps), nested structs and lists; any other type is kept as
// json.RawMessage (still scanned and validated).
func pageType(schema *arrow.Schema) reflect.Type {
	rec := structType(schema.Fields())
	return reflect.StructOf([]reflect.StructField{{
		Name: "Data", Type: reflect.SliceOf(rec), Tag: `json:"data"`,
	}})
}

func structType(fields []arrow.Field) reflect.Type {
	var sf []reflect.StructField
	for i, f := range fields {
		key := f.Name
		if f.HasMetadata() {
			if j := f.Metadata.FindKey(schemas.MetaJSON); j >= 0 {
				key = f.Metadata.Values()[j]
			}
		}
		sf = append(sf, reflect.StructField{
			Name: "F" + strconv.Itoa(i),
			Type: goType(f.Type),
			Tag:  reflect.StructTag(`json:` + strconv.Quote(key)),
		})
	}
	return reflect.StructOf(sf)
}

func goType(dt arrow.DataType) reflect.Type {
	switch t := dt.(type) {
	case *arrow.Int64Type, *arrow.Int32Type:
		return reflect.TypeFor[int64]()
	case *arrow.Float64Type:
		return reflect.TypeFor[float64]()
	case *arrow.BooleanType:
		return reflect.TypeFor[bool]()
	case *arrow.StringType, *arrow.Date32Type, *arrow.TimestampType:
		return reflect.TypeFor[string]()
	case *arrow.StructType:
		return structType(t.Fields())
	case *arrow.ListType:
		return reflect.SliceOf(goType(t.Elem()))
	}
	return reflect.TypeFor[json.RawMessage]()
}
