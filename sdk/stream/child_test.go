package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/google/go-cmp/cmp"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/protocol"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
)

// familyAPI serves parents (GET /parents, limit/offset, total) and each
// parent's children (GET /children?parent=, limit/offset, count). Parent p
// has children[p] children with ids p*100+1, p*100+2, ...
type familyAPI struct {
	parents  []string      // JSON values of the parents' ids, in listing order
	children map[int64]int // children per parent; absent means 2
	fail     map[int64]int // parent -> HTTP status its children requests get
	gone     map[int64]bool

	mu       sync.Mutex
	requests map[string]int // "parents", or "children <parent>"
	windows  map[string]bool
}

func newFamilyAPI(t *testing.T, parents ...string) (*familyAPI, *httptest.Server) {
	t.Helper()
	api := &familyAPI{parents: parents, children: map[int64]int{}, fail: map[int64]int{}, gone: map[int64]bool{},
		requests: map[string]int{}, windows: map[string]bool{}}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return api, srv
}

func (a *familyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset, _ := strconv.Atoi(q.Get("offset"))
	a.mu.Lock()
	defer a.mu.Unlock()
	switch r.URL.Path {
	case "/parents":
		a.requests["parents"]++
		end := min(offset+limit, len(a.parents))
		items := make([]string, 0, limit)
		for _, id := range a.parents[min(offset, end):end] {
			items = append(items, `{"id":`+id+`,"name":"p"}`)
		}
		fmt.Fprintf(w, `{"total":%d,"data":[%s]}`, len(a.parents), strings.Join(items, ","))
	case "/children":
		p, _ := strconv.ParseInt(q.Get("parent"), 10, 64)
		a.requests["children "+q.Get("parent")]++
		a.windows[q.Get("window")] = true
		if code := a.fail[p]; code != 0 {
			w.WriteHeader(code)
			return
		}
		if a.gone[p] {
			fmt.Fprint(w, `{"gone":true}`)
			return
		}
		n, ok := a.children[p]
		if !ok {
			n = 2
		}
		var items []string
		for i := offset; i < min(offset+limit, n); i++ {
			items = append(items, fmt.Sprintf(`{"id":%d,"v":"c%d"}`, p*100+int64(i)+1, i))
		}
		fmt.Fprintf(w, `{"count":%d,"items":[%s]}`, n, strings.Join(items, ","))
	default:
		http.NotFound(w, r)
	}
}

func (a *familyAPI) count(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests[key]
}

// familyWriter is an sdk.Writer that keeps the child rows, checkpoints and
// statuses of a read. It is safe for concurrent use.
type familyWriter struct {
	mu          sync.Mutex
	rows        map[string][]string // stream -> "parent/id" (or the id for parents)
	checkpoints map[string][]string
	status      map[string]sdk.Status
	batches     int
	failBatch   int // WriteBatch fails from this batch on (1-based); 0 never
}

func newFamilyWriter() *familyWriter {
	return &familyWriter{rows: map[string][]string{}, checkpoints: map[string][]string{}, status: map[string]sdk.Status{}}
}

func (w *familyWriter) WriteBatch(_ context.Context, stream string, rec arrow.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.batches++
	if w.failBatch > 0 && w.batches >= w.failBatch {
		return errors.New("the host has gone")
	}
	ids := rec.Column(0).(*array.Int64)
	for i := range ids.Len() {
		row := strconv.FormatInt(ids.Value(i), 10)
		if rec.NumCols() > 3 { // a child: id, parent, its own column and the rescue column
			row = strconv.FormatInt(rec.Column(1).(*array.Int64).Value(i), 10) + "/" + row
		}
		w.rows[stream] = append(w.rows[stream], row)
	}
	return nil
}

func (w *familyWriter) Checkpoint(_ context.Context, stream string, st json.RawMessage) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.checkpoints[stream] = append(w.checkpoints[stream], string(st))
	return nil
}

func (w *familyWriter) Status(_ context.Context, stream string, st sdk.Status) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status[stream] = st
	return nil
}

func (w *familyWriter) Progress(context.Context, string, sdk.Progress) error { return nil }

// last returns the stream's last checkpoint, or nil.
func (w *familyWriter) last(stream string) json.RawMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	cps := w.checkpoints[stream]
	if len(cps) == 0 {
		return nil
	}
	return json.RawMessage(cps[len(cps)-1])
}

func (w *familyWriter) sorted(stream string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := slices.Clone(w.rows[stream])
	slices.Sort(out)
	return out
}

var (
	parentSchemaT = arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	childSchemaT = arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "parent_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
)

// family returns the parent stream and its child over api.
func family(pageSize int) (*Stream, *Child) {
	parents := &Stream{
		Name: "parents", Schema: parentSchemaT, SyncModes: []sdk.SyncMode{sdk.FullRefresh},
		Records: []string{"data"}, Pager: rest.LimitOffset{Limit: pageSize},
		Request: func(json.RawMessage) (rest.Request, error) { return rest.Request{Path: "/parents"}, nil },
		Info: func(p *records.Page) rest.PageInfo {
			total, _ := p.Envelope.Int("total")
			return rest.PageInfo{Items: int(p.Record.NumRows()), Total: int(total)}
		},
	}
	children := &Child{
		Name: "children", Schema: childSchemaT, SyncModes: []sdk.SyncMode{sdk.Incremental, sdk.FullRefresh},
		Parent: parents, Keys: []Key{{Parent: "id", Column: "parent_id"}},
		Records: []string{"items"}, Pager: rest.LimitOffset{Limit: pageSize},
		Request: func(k ParentKey, window json.RawMessage) (rest.Request, error) {
			var w string
			if err := json.Unmarshal(window, &w); err != nil {
				return rest.Request{}, err
			}
			return rest.Request{Path: "/children", Query: url.Values{"parent": {k.String()}, "window": {w}}}, nil
		},
		Info: func(p *records.Page) rest.PageInfo {
			n, _ := p.Envelope.Int("count")
			return rest.PageInfo{Items: int(p.Record.NumRows()), Total: int(n)}
		},
		Gone: func(resp *rest.Response) bool { return strings.Contains(string(resp.Body), `"gone"`) },
		Window: func(last json.RawMessage) (json.RawMessage, error) {
			if last == nil {
				return json.RawMessage(`"w1"`), nil
			}
			var w string
			if err := json.Unmarshal(last, &w); err != nil {
				return nil, err
			}
			return json.Marshal(w + "+")
		},
		CheckpointEvery: 1 << 40, // only full batches and the end checkpoint
	}
	return parents, children
}

// readFamily runs ReadAll for the named streams (with their states) and
// returns what the writer got.
func readFamily(t *testing.T, srv *httptest.Server, ch *Child, w *familyWriter, mode sdk.SyncMode, states map[string]json.RawMessage, names ...string) error {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c, err := rest.New(rest.Options{BaseURL: srv.URL, Policy: rest.Policy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	var req sdk.ReadRequest
	for _, n := range names {
		req.Streams = append(req.Streams, sdk.StreamRequest{Name: n, Mode: mode, State: states[n]})
	}
	return ReadAll(context.Background(), c, []*Stream{ch.Parent}, []*Child{ch}, req, w, ReadOptions{Allocator: mem})
}

// want lists "parent/child" rows for parents with n children each.
func want(parents map[int64]int) []string {
	var out []string
	for p, n := range parents {
		for i := range n {
			out = append(out, fmt.Sprintf("%d/%d", p, p*100+int64(i)+1))
		}
	}
	slices.Sort(out)
	return out
}

func TestChildReadsEveryParent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		parents  []string
		children map[int64]int
		batch    int
		select_  []string
		want     map[int64]int // parent -> children expected
	}{
		{
			name:     "child only: the parents are listed anyway",
			parents:  []string{"1", "2", "3", "4", "5", "6", "7"},
			children: map[int64]int{2: 0, 3: 1, 4: 7},
			select_:  []string{"children"},
			want:     map[int64]int{1: 2, 3: 1, 4: 7, 5: 2, 6: 2, 7: 2},
		},
		{
			name:    "parent and child",
			parents: []string{"1", "2", "3"},
			select_: []string{"parents", "children"},
			want:    map[int64]int{1: 2, 2: 2, 3: 2},
		},
		{
			name:     "a parent larger than a batch is sent in parts",
			parents:  []string{"1", "2"},
			children: map[int64]int{1: 9},
			batch:    3,
			select_:  []string{"children"},
			want:     map[int64]int{1: 9, 2: 2},
		},
		{
			name:    "a parent listed twice is read once; a null key is skipped",
			parents: []string{"1", "2", "null", "1", "3"},
			select_: []string{"children"},
			want:    map[int64]int{1: 2, 2: 2, 3: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, srv := newFamilyAPI(t, tt.parents...)
			for p, n := range tt.children {
				api.children[p] = n
			}
			_, ch := family(2)
			ch.BatchRows = tt.batch
			w := newFamilyWriter()
			if err := readFamily(t, srv, ch, w, sdk.Incremental, nil, tt.select_...); err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.select_ {
				if st := w.status[s]; st.State != sdk.Complete {
					t.Fatalf("stream %s ended %v: %v", s, st.State, st.Err)
				}
			}
			if diff := cmp.Diff(want(tt.want), w.sorted("children")); diff != "" {
				t.Errorf("child rows mismatch (-want +got):\n%s", diff)
			}
			if got := string(w.last("children")); got != `{"window":"w1","complete":true}` {
				t.Errorf("last checkpoint = %s, want the complete window", got)
			}
			if api.count("parents") == 0 {
				t.Error("the parents were not listed")
			}
			for p := range tt.want {
				if n := api.count("children " + strconv.FormatInt(p, 10)); n != max((tt.want[p]+1)/2, 1) {
					t.Errorf("parent %d: %d children requests, want one per page", p, n)
				}
			}
		})
	}
}

// TestChildResume: a read that fails part way keeps the parents done in its
// checkpoint; the next run reads the same window for the others only, and
// together the runs send every child exactly once.
func TestChildResume(t *testing.T) {
	t.Parallel()
	parents := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}
	api, srv := newFamilyAPI(t, parents...)
	api.fail[6] = http.StatusNotFound
	_, ch := family(3)
	ch.Concurrency = 1 // parents in order, so 1..5 are done when 6 fails
	ch.BatchRows = 2   // a checkpoint after every parent
	w := newFamilyWriter()
	if err := readFamily(t, srv, ch, w, sdk.Incremental, nil, "children"); err != nil {
		t.Fatal(err)
	}
	if st := w.status["children"]; st.State != sdk.Failed || !strings.Contains(fmt.Sprint(st.Err), "404") {
		t.Fatalf("first run ended %v (%v), want Failed with the 404", st.State, st.Err)
	}
	state := w.last("children")
	if got, want := string(state), `{"window":"w1","done":[1,2,3,4,5]}`; got != want {
		t.Errorf("checkpoint after the failure = %s, want %s", got, want)
	}
	firstRows := len(w.rows["children"])

	delete(api.fail, 6)
	before := api.count("children 2")
	if err := readFamily(t, srv, ch, w, sdk.Incremental, map[string]json.RawMessage{"children": state}, "children"); err != nil {
		t.Fatal(err)
	}
	if st := w.status["children"]; st.State != sdk.Complete {
		t.Fatalf("second run ended %v: %v", st.State, st.Err)
	}
	all := map[int64]int{}
	for i := range len(parents) {
		all[int64(i+1)] = 2
	}
	if diff := cmp.Diff(want(all), w.sorted("children")); diff != "" {
		t.Errorf("rows of both runs mismatch (-want +got):\n%s", diff)
	}
	if firstRows != 10 || api.count("children 2") != before {
		t.Errorf("first run sent %d rows, and the second re-read parent 2: the done parents were not skipped", firstRows)
	}
	if got := string(w.last("children")); got != `{"window":"w1","complete":true}` {
		t.Errorf("resumed run's last checkpoint = %s, want window w1 complete", got)
	}
}

func TestChildWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mode       sdk.SyncMode
		state      string
		wantWindow string
	}{
		{"first run", sdk.Incremental, "", "w1"},
		{"after a complete run", sdk.Incremental, `{"window":"w1","complete":true}`, "w1+"},
		{"a run in progress goes on", sdk.Incremental, `{"window":"w1+","done":[1]}`, "w1+"},
		{"full refresh ignores the state", sdk.FullRefresh, `{"window":"w1","complete":true}`, "w1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, srv := newFamilyAPI(t, "1", "2")
			_, ch := family(5)
			w := newFamilyWriter()
			var st map[string]json.RawMessage
			if tt.state != "" {
				st = map[string]json.RawMessage{"children": json.RawMessage(tt.state)}
			}
			if err := readFamily(t, srv, ch, w, tt.mode, st, "children"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(map[string]bool{tt.wantWindow: true}, api.windows); diff != "" {
				t.Errorf("windows requested mismatch (-want +got):\n%s", diff)
			}
			if got, want := string(w.last("children")), `{"window":"`+tt.wantWindow+`","complete":true}`; got != want {
				t.Errorf("last checkpoint = %s, want %s", got, want)
			}
		})
	}
}

func TestChildGoneParent(t *testing.T) {
	t.Parallel()
	api, srv := newFamilyAPI(t, "1", "2", "3")
	api.gone[2] = true
	_, ch := family(5)
	w := newFamilyWriter()
	if err := readFamily(t, srv, ch, w, sdk.Incremental, nil, "children"); err != nil {
		t.Fatal(err)
	}
	if st := w.status["children"]; st.State != sdk.Complete {
		t.Fatalf("ended %v: %v", st.State, st.Err)
	}
	if diff := cmp.Diff(want(map[int64]int{1: 2, 3: 2}), w.sorted("children")); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}

// TestChildEmptyParent: a parent listing with no records fails the child
// stream through Empty, and keeps its window for the next run; without
// Empty, or with parents, the window completes.
func TestChildEmptyParent(t *testing.T) {
	t.Parallel()
	errNone := errors.New("the parents' search listed nothing")
	tests := []struct {
		name      string
		parents   []string
		empty     func() error
		wantState protocol.State
	}{
		{"no parents", nil, func() error { return errNone }, sdk.Failed},
		{"no parents, and Empty accepts it", nil, func() error { return nil }, sdk.Complete},
		{"no parents, no Empty", nil, nil, sdk.Complete},
		{"parents", []string{"1"}, func() error { return errNone }, sdk.Complete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFamilyAPI(t, tt.parents...)
			_, ch := family(5)
			ch.Empty = tt.empty
			w := newFamilyWriter()
			if err := readFamily(t, srv, ch, w, sdk.Incremental, nil, "children"); err != nil {
				t.Fatal(err)
			}
			st := w.status["children"]
			if st.State != tt.wantState {
				t.Fatalf("ended %v (%v), want %v", st.State, st.Err, tt.wantState)
			}
			last := string(w.last("children"))
			if tt.wantState == sdk.Failed {
				if !errors.Is(st.Err, errNone) || !strings.Contains(st.Err.Error(), "stream children: parent parents") {
					t.Errorf("error %v, want Empty's, naming the stream and its parent", st.Err)
				}
				if strings.Contains(last, "complete") {
					t.Errorf("last checkpoint %s completes the window", last)
				}
			} else if !strings.Contains(last, `"complete":true`) {
				t.Errorf("last checkpoint %s, want the window complete", last)
			}
		})
	}
}

func TestChildDeclarationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Child)
		want string
	}{
		{"unknown parent key", func(c *Child) { c.Keys = []Key{{Parent: "nope", Column: "parent_id"}} }, `key "nope" is not a column`},
		{"unknown key column", func(c *Child) { c.Keys = []Key{{Parent: "id", Column: "nope"}} }, `key column "nope"`},
		{"key types differ", func(c *Child) { c.Keys = []Key{{Parent: "name", Column: "parent_id"}} }, "has type int64"},
		{"incremental without a window", func(c *Child) { c.Window = nil }, "needs a Window"},
		{"no keys", func(c *Child) { c.Keys = nil }, "needs Keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFamilyAPI(t, "1")
			_, ch := family(5)
			tt.edit(ch)
			w := newFamilyWriter()
			if err := readFamily(t, srv, ch, w, sdk.Incremental, nil, "children"); err != nil {
				t.Fatal(err)
			}
			if st := w.status["children"]; st.State != sdk.Failed || !strings.Contains(fmt.Sprint(st.Err), tt.want) {
				t.Errorf("status %v (%v), want Failed with %q", st.State, st.Err, tt.want)
			}
		})
	}
}

// TestChildWriterFails: a Writer failure ends the read with its error,
// without leaking goroutines (goleak checks) or Arrow memory.
func TestChildWriterFails(t *testing.T) {
	t.Parallel()
	parents := make([]string, 40)
	for i := range parents {
		parents[i] = strconv.Itoa(i + 1)
	}
	_, srv := newFamilyAPI(t, parents...)
	_, ch := family(4)
	ch.BatchRows = 2
	w := newFamilyWriter()
	w.failBatch = 3
	err := readFamily(t, srv, ch, w, sdk.Incremental, nil, "children")
	if err == nil || !strings.Contains(err.Error(), "the host has gone") {
		t.Fatalf("ReadAll = %v, want the writer's error", err)
	}
}

func TestChildBadState(t *testing.T) {
	t.Parallel()
	_, srv := newFamilyAPI(t, "1")
	_, ch := family(5)
	w := newFamilyWriter()
	st := map[string]json.RawMessage{"children": json.RawMessage(`[1,2]`)}
	if err := readFamily(t, srv, ch, w, sdk.Incremental, st, "children"); err != nil {
		t.Fatal(err)
	}
	if s := w.status["children"]; s.State != sdk.Failed || !errors.Is(s.Err, sdk.ErrConfig) {
		t.Errorf("status %v (%v), want Failed with ErrConfig", s.State, s.Err)
	}
}

func TestReadAllUnknownStream(t *testing.T) {
	t.Parallel()
	_, srv := newFamilyAPI(t)
	_, ch := family(5)
	err := readFamily(t, srv, ch, newFamilyWriter(), sdk.Incremental, nil, "nope")
	if !errors.Is(err, sdk.ErrConfig) {
		t.Errorf("ReadAll(nope) = %v, want ErrConfig", err)
	}
}

func TestParentKeyString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key     ParentKey
		str, id string
	}{
		{ParentKey{int64(7)}, "7", "7"},
		{ParentKey{"a b"}, "a b", `"a b"`},
		{ParentKey{int64(1), "x", true}, "1,x,true", `[1,"x",true]`},
	}
	for _, tt := range tests {
		if got := tt.key.String(); got != tt.str {
			t.Errorf("%#v.String() = %q, want %q", tt.key, got, tt.str)
		}
		if got := string(tt.key.id()); got != tt.id {
			t.Errorf("%#v.id() = %s, want %s", tt.key, got, tt.id)
		}
	}
}

// cancelWriter cancels the read at its first checkpoint.
type cancelWriter struct {
	*familyWriter
	cancel context.CancelFunc
}

func (w *cancelWriter) Checkpoint(ctx context.Context, stream string, st json.RawMessage) error {
	w.cancel()
	return w.familyWriter.Checkpoint(ctx, stream, st)
}

// TestChildCancel: cancelling the read mid-way ends the child stream as
// Incomplete, promptly, without leaking goroutines or memory.
func TestChildCancel(t *testing.T) {
	t.Parallel()
	parents := make([]string, 60)
	for i := range parents {
		parents[i] = strconv.Itoa(i + 1)
	}
	_, srv := newFamilyAPI(t, parents...)
	_, ch := family(4)
	ch.BatchRows = 2
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c, err := rest.New(rest.Options{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelWriter{familyWriter: newFamilyWriter(), cancel: cancel}
	req := sdk.ReadRequest{Streams: []sdk.StreamRequest{{Name: "children", Mode: sdk.Incremental}}}
	if err := ReadAll(ctx, c, nil, []*Child{ch}, req, w, ReadOptions{Allocator: mem}); err != nil {
		t.Fatal(err)
	}
	if st := w.status["children"]; st.State != sdk.Incomplete {
		t.Errorf("status %v (%v), want Incomplete", st.State, st.Err)
	}
	if n := len(w.rows["children"]); n >= 120 {
		t.Errorf("%d rows written after the cancel, want fewer than all", n)
	}
}

// TestReadAll_Sample: a read with a Limit (quiver discover --sample) ends
// each stream, parent and child, once it has sent that many records, and
// reports it complete.
func TestReadAll_Sample(t *testing.T) {
	t.Parallel()
	api, srv := newFamilyAPI(t, "1", "2", "3", "4", "5", "6", "7", "8", "9", "10")
	for p := range int64(10) {
		api.children[p+1] = 5
	}
	_, ch := family(3)
	ch.BatchRows = 2
	w := newFamilyWriter()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c, err := rest.New(rest.Options{BaseURL: srv.URL, Policy: rest.Policy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	req := sdk.ReadRequest{Limit: 4, Streams: []sdk.StreamRequest{{Name: "parents"}, {Name: "children", Mode: sdk.FullRefresh}}}
	if err := ReadAll(context.Background(), c, []*Stream{ch.Parent}, []*Child{ch}, req, w, ReadOptions{Allocator: mem}); err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	for _, s := range []string{"parents", "children"} {
		if st := w.status[s]; st.State != sdk.Complete {
			t.Errorf("%s: status %v (%v), want complete", s, st.State, st.Err)
		}
		if n := len(w.rows[s]); n != 4 {
			t.Errorf("%s: %d rows sent, want the 4 of the sample", s, n)
		}
	}
	if n := api.count("parents"); n > 6 {
		t.Errorf("%d parent pages read for a sample of 4; the read did not stop", n)
	}
}
