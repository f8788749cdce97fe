package trackvia

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// A view is an entry of GET /openapi/views.
type view struct {
	ID   int64
	Name string
	App  string
}

// listViews returns the views the token can read, in listing order.
func (s *source) listViews(ctx context.Context) ([]view, error) {
	var entries []struct {
		ID   flexID `json:"id"`
		Name string `json:"name"`
		App  string `json:"applicationName"`
	}
	err := s.client.Do(ctx, rest.Request{Path: "/openapi/views", Label: "list views"}, rest.DecodeJSON(&entries))
	if err != nil {
		return nil, explain(err)
	}
	out := make([]view, 0, len(entries))
	seen := map[flexID]bool{}
	for _, e := range entries {
		if e.ID > 0 && !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, view{ID: int64(e.ID), Name: e.Name, App: e.App})
		}
	}
	return out, nil
}

// A target is a stream read from a listing with a structure: a view, or
// the users.
type target struct {
	stream string
	view   view   // ID 0 for users
	path   string // /openapi/views/{id} or /openapi/users
}

func (t *target) isUsers() bool { return t.view.ID == 0 }

// label names the target in errors and logs.
func (t *target) label() string {
	if t.isUsers() {
		return "users"
	}
	return fmt.Sprintf("view %q (id %d)", t.view.Name, t.view.ID)
}

// description is the target's catalog description.
func (t *target) description() string {
	if t.isUsers() {
		return "Users of the account (needs a Super Admin's auth token)."
	}
	return fmt.Sprintf("Records of the TrackVia view %q (id %d) of app %q.", t.view.Name, t.view.ID, t.view.App)
}

// targets returns the users and the views the config selects, named;
// views are in listing order. A name or id in the config that matches no
// view, or a name that matches several, is a config error.
func (s *source) targets(views []view) ([]*target, error) {
	names := streamNames(views)
	out := []*target{{stream: streamUsers, path: usersPath}}
	add := func(v view) {
		out = append(out, &target{stream: names[v.ID], view: v, path: "/openapi/views/" + strconv.FormatInt(v.ID, 10)})
	}
	if len(s.cfg.Views) == 0 {
		for _, v := range views {
			add(v)
		}
		return out, nil
	}
	want := map[int64]bool{}
	for i, ref := range s.cfg.Views {
		ids, err := match(views, ref)
		if err != nil {
			return nil, fmt.Errorf("trackvia: config: views[%d]: %w: %w", i, err, sdk.ErrConfig)
		}
		for _, id := range ids {
			want[id] = true
		}
	}
	for _, v := range views {
		if want[v.ID] {
			add(v)
		}
	}
	return out, nil
}

// match returns the id of the view ref names: by id when ref is a number
// that is a view's id, else by exact name.
func match(views []view, ref ViewRef) ([]int64, error) {
	if id, ok := ref.id(); ok {
		for _, v := range views {
			if v.ID == id {
				return []int64{id}, nil
			}
		}
	}
	var ids []string
	var found []int64
	for _, v := range views {
		if v.Name == string(ref) {
			found = append(found, v.ID)
			ids = append(ids, strconv.FormatInt(v.ID, 10))
		}
	}
	switch len(found) {
	case 1:
		return found, nil
	case 0:
		var names []string
		for _, v := range views {
			names = append(names, fmt.Sprintf("%q (%d)", v.Name, v.ID))
		}
		return nil, fmt.Errorf("no view with the id or exact name %q among the %d views the token can read: %s", string(ref), len(views), strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("%d views are named %q (ids %s); give the id of the one to read", len(found), string(ref), strings.Join(ids, ", "))
}

// structure is what fetchStructure learns about a target.
type structure struct {
	layout *layout
	date   time.Time // the server's clock when it answered
	err    error
}

// fetchStructure reads the structure of t from a one-record page.
func (s *source) fetchStructure(ctx context.Context, t *target) structure {
	var body struct {
		Structure json.RawMessage `json:"structure"`
	}
	var date time.Time
	req := rest.Request{Path: t.path, Query: url.Values{"start": {"0"}, "max": {"1"}}, Label: "structure of " + t.label()}
	err := s.client.Do(ctx, req, func(resp *rest.Response) error {
		date, _ = http.ParseTime(resp.Header.Get("Date"))
		return rest.DecodeJSON(&body)(resp)
	})
	if err != nil {
		return structure{err: explain(err)}
	}
	if date.IsZero() {
		date = s.conn.clock()
	}
	if len(body.Structure) == 0 || string(body.Structure) == "null" {
		return structure{err: fmt.Errorf("trackvia: %s: the page has no structure", t.label())}
	}
	fields, err := parseStructure(body.Structure)
	if err != nil {
		return structure{err: fmt.Errorf("trackvia: %s: %w", t.label(), err)}
	}
	return structure{layout: newLayout(t.stream, fields), date: date}
}

// structureConcurrency bounds the structure requests in flight: a few at
// a time keep Discover quick on accounts with many views without
// hammering an API whose rate limits are not documented
// (docs/vendors/trackvia.md#rate-limits).
const structureConcurrency = 4

// fetchStructures fetches the structures of targets, a few at a time; the
// results are in the order of targets.
func (s *source) fetchStructures(ctx context.Context, targets []*target) []structure {
	out := make([]structure, len(targets))
	sem := make(chan struct{}, structureConcurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				out[i] = s.fetchStructure(ctx, t)
			case <-ctx.Done():
				out[i] = structure{err: fmt.Errorf("trackvia: structure of %s: %w", t.label(), ctx.Err())}
			}
		}()
	}
	wg.Wait()
	return out
}

// isNotFound reports whether err is a 404: the view is gone.
func isNotFound(err error) bool {
	var se *rest.StatusError
	return errors.As(err, &se) && se.StatusCode == http.StatusNotFound
}

// usersDenied reports whether err is the users listing refusing a token
// that is no Super Admin's.
func usersDenied(err error) bool {
	var se *rest.StatusError
	return errors.As(err, &se) && isUsersDenied(se.URL, se.Body)
}

// Catalog implements stream.Dynamic: it lists the views, reads the
// structure of each selected one and of the users, and returns their
// streams after apps and views.
func (s *source) Catalog(ctx context.Context) ([]sdk.Stream, error) {
	log := sdk.Logger(ctx)
	views, err := s.listViews(ctx)
	if err != nil {
		return nil, fmt.Errorf("trackvia: discover: %w", err)
	}
	targets, err := s.targets(views)
	if err != nil {
		return nil, err
	}
	static, err := staticStreams()
	if err != nil {
		return nil, err
	}
	var cat []sdk.Stream
	for _, st := range static {
		cat = append(cat, st.Catalog())
	}
	for i, st := range s.fetchStructures(ctx, targets) {
		t := targets[i]
		switch {
		case st.err == nil:
		case t.isUsers() && usersDenied(st.err):
			// Keep the stream, so that selecting it fails with the reason.
			log.Info("the auth token may not list users (no Super Admin); the users stream will fail if it is read", "stream", t.stream)
			st.layout = newLayout(t.stream, nil)
		case isNotFound(st.err):
			log.Warn("a listed view is gone; leaving it out", "stream", t.stream, "view", t.view.ID)
			continue
		default:
			return nil, fmt.Errorf("trackvia: discover: %w", st.err)
		}
		warnLayout(ctx, t, st.layout)
		cat = append(cat, catalogEntry(t, st.layout))
	}
	s.conn.remember(s.key, cat)
	return cat, nil
}

// warnLayout logs the fields a layout could not map as they are.
func warnLayout(ctx context.Context, t *target, l *layout) {
	if len(l.unknown) > 0 {
		sdk.Logger(ctx).Warn("fields of unknown TrackVia types are read as text", "stream", t.stream, "fields", strings.Join(l.unknown, ", "))
	}
	if len(l.skipped) > 0 {
		sdk.Logger(ctx).Warn("fields left out: empty, reserved or repeated names", "stream", t.stream, "fields", fmt.Sprintf("%q", l.skipped))
	}
}

// catalogEntry is the catalog entry of target t with layout l; Discover
// and Read build the stream from it alike. Its schema has the rescue
// column, as stream.Stream.Catalog's does.
func catalogEntry(t *target, l *layout) sdk.Stream {
	// A view's records are read through the view, which the API can
	// neither filter nor sort: with a "Last Updated" field the view is a
	// cursor stream (every edit moves the cursor); without one it is a
	// snapshot, read whole on every run.
	modes, updates := []sdk.SyncMode{sdk.FullRefresh}, sdk.Snapshot
	if l.cursor >= 0 {
		modes, updates = []sdk.SyncMode{sdk.Incremental, sdk.FullRefresh}, sdk.Cursor
	}
	return sdk.Stream{
		Name:        t.stream,
		Description: t.description(),
		Schema:      records.WithRescue(l.schema),
		PrimaryKey:  []string{idColumn},
		CursorField: l.cursorName(),
		SyncModes:   modes,
		Updates:     updates,
	}
}

// staticStreams are apps and views: small bare arrays in one response,
// declared by their schema files.
func staticStreams() ([]*stream.Stream, error) {
	all, err := stream.FromSchemas("trackvia")
	if err != nil {
		return nil, err
	}
	for _, st := range all {
		st.Pager = onePage{}
	}
	return all, nil
}

// onePage is the Pager of listings that come whole in one response.
type onePage struct{}

// Start implements rest.Pager.
func (onePage) Start() rest.Paging { return onePage{} }

// Apply implements rest.Paging: the request needs no paging parameters.
func (onePage) Apply(*rest.Request) {}

// Next implements rest.Paging: there is no next page.
func (onePage) Next(rest.PageInfo) (bool, error) { return false, nil }

var (
	_ rest.Pager  = onePage{}
	_ rest.Paging = onePage{}
)
