package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/connectors/trackvia"
	"github.com/quiver-etl/quiver/connectors/trackvia/trackviasim"
	"github.com/quiver-etl/quiver/sdk"
)

// trackviaTypes documents TrackVia's run-time schemas by asking the
// connector itself: it discovers, against the loopback simulator, a view
// with one field of every TrackVia type, and reads each column's type
// back (the connector records the TrackVia type of a column under
// trackvia.MetaType). A second discovery of the simulator's sample account
// shows how view names become stream names.
func trackviaTypes(ctx context.Context) (*dynamicDoc, error) {
	srv, err := trackviasim.Start("127.0.0.1:0", trackviasim.Options{Seed: 1})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	sample, err := trackviaDiscover(ctx, srv, nil)
	if err != nil {
		return nil, err
	}

	var fields []trackviasim.Field
	for _, t := range trackviasim.FieldTypes() {
		fields = append(fields, trackviasim.Field{Name: string(t), Type: t})
	}
	if err := srv.SetStructure(trackviasim.ViewEmpty, fields); err != nil {
		return nil, fmt.Errorf("trackviasim: %w", err)
	}
	cat, err := trackviaDiscover(ctx, srv, []int64{trackviasim.ViewEmpty})
	if err != nil {
		return nil, err
	}
	// The view is the stream with the most typed columns (users has some).
	var view *sdk.Stream
	for i, s := range cat.Streams {
		if view == nil || typedFields(s.Schema) > typedFields(view.Schema) {
			view = &cat.Streams[i]
		}
	}
	if view == nil || typedFields(view.Schema) == 0 {
		return nil, fmt.Errorf("trackvia: discover found no view stream with typed fields")
	}
	d := &dynamicDoc{Summary: "one stream per view", PrimaryKey: view.PrimaryKey}
	for _, f := range view.Schema.Fields() {
		vt, ok := f.Metadata.GetValue(trackvia.MetaType)
		if !ok {
			d.Fixed = append(d.Fixed, columnOf(f, f.Name, 0))
			continue
		}
		d.Types = append(d.Types, typeRow{Vendor: vt, Arrow: arrowType(f.Type), DuckDB: duckType(f.Type), Note: trackviaNotes[vt]})
	}
	for _, t := range trackviasim.FieldTypes() {
		if !slices.ContainsFunc(d.Types, func(r typeRow) bool { return r.Vendor == string(t) }) {
			return nil, fmt.Errorf("trackvia: discover left out the %s field", t)
		}
	}
	var b strings.Builder
	b.WriteString("Each view the token can read (or each one listed under `views`) is a stream, named from the view: lower-case ASCII letters, digits and `_`. ")
	b.WriteString("Its columns come from the view's structure when the sync starts: the record `id` first, then one column per field, named exactly as TrackVia shows it (spaces and capitals included; quote them in SQL: `\"Account Name\"`). ")
	b.WriteString("`users` works the same way from the account's user structure (it needs a Super Admin token). ")
	b.WriteString("A structure change between runs is reported in the run summary and the next files have the new columns.\n\n")
	b.WriteString("The simulator's sample account, as `quiver discover` shows it:\n\n")
	b.WriteString("| stream | primary key | cursor | sync modes | columns |\n|---|---|---|---|---|\n")
	for _, s := range sample.Streams {
		var modes []string
		for _, m := range s.SyncModes {
			modes = append(modes, string(m))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %d |\n", s.Name, codes(s.PrimaryKey), code(s.CursorField), strings.Join(modes, ", "), s.Schema.NumFields())
	}
	d.Intro = strings.TrimSpace(b.String())
	return d, nil
}

// typedFields counts the fields of s that carry a TrackVia type.
func typedFields(s *arrow.Schema) int {
	n := 0
	for _, f := range s.Fields() {
		if _, ok := f.Metadata.GetValue(trackvia.MetaType); ok {
			n++
		}
	}
	return n
}

// trackviaDiscover runs the connector's Discover against srv, for views
// (all when nil).
func trackviaDiscover(ctx context.Context, srv *trackviasim.Server, views []int64) (*sdk.Catalog, error) {
	cfg := map[string]any{
		"base_url":     srv.URL,
		"user_key":     trackviasim.DefaultUserKey,
		"access_token": trackviasim.DefaultAccessToken,
	}
	if views != nil {
		cfg["views"] = views
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	src, err := trackvia.New().Open(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("trackvia: open: %w", err)
	}
	defer src.Close()
	cat, err := src.Discover(ctx)
	if err != nil {
		return nil, fmt.Errorf("trackvia: discover against trackviasim: %w", err)
	}
	return cat, nil
}

// trackviaNotes explains the TrackVia types whose values need a word.
var trackviaNotes = map[string]string{
	"percentage":    "the fraction: 10% is 0.1",
	"autoIncrement": "the counter's value",
	"checkbox":      "the checked options",
	"document":      "the file id as text, or the file name where the API gives one",
	"image":         "the file id as text, or the file name where the API gives one",
	"user":          "the user id as text (\"12\"), or the user's name where the API gives it",
	"userGroup":     "the group id as text, or the group's name where the API gives it",
	"relationship":  "the related record's id as text, or its display value (a site's name, say) where the API gives it",
	"identifier":    "the record id as text (\"Record ID\")",
	"point":         "latitude and longitude",
	"date":          "a calendar date",
	"datetime":      "an instant, in UTC",
}
