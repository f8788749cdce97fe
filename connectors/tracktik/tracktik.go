// Package tracktik is the Quiver connector for TrackTik, the security
// workforce platform: employees, clients (sites), positions, shifts, work
// sessions and reports from the REST API at https://<portal>/rest/v1.
//
// Authentication is the OAuth2 password grant of an API service account;
// refresh tokens are single-use and rotate. Right after a token is issued
// the API may answer 401 while its read replica catches up; those 401s are
// retried with the same token, never with a new login, because 40 failed
// logins in 2 minutes lock the IP out for 2 hours
// (docs/vendors/tracktik.md#auth,
// docs/vendors/tracktik.md#replication-lag-401).
package tracktik

import (
	"context"
	_ "embed"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/records"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// Version is the connector's release.
const Version = "0.1.0"

//go:embed config.schema.json
var configSchema []byte

// New returns the TrackTik connector.
func New() *stream.Connector[Config] {
	return &stream.Connector[Config]{
		Name:         "tracktik",
		Version:      Version,
		Description:  "TrackTik REST API: employees, clients, positions, shifts, work sessions, reports",
		ConfigSchema: configSchema,
		Streams:      []string{"clients", "employees", "positions", "reports", "shifts", "work-sessions"},
		Source:       open,
	}
}

// open prepares the HTTP client and declares the streams; it contacts
// nothing. Check logs in and reads one employee.
func open(ctx context.Context, cfg *Config) (*stream.Source, error) {
	log := sdk.Logger(ctx).With("connector", "tracktik")
	tokens := auth.NewCache(&auth.PasswordGrant{
		TokenURL:     cfg.BaseURL + "/rest/oauth2/access_token",
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Username:     cfg.Username,
		Password:     cfg.Password,
		// The vendor's samples post client_id and client_secret as form
		// fields, and no scope: scope is set on the OAuth client record.
		Style:  auth.InParams,
		Body:   auth.Form,
		Logger: log,
	}, auth.CacheOptions{Logger: log})
	client, err := rest.New(rest.Options{BaseURL: cfg.BaseURL, Auth: tokens, Logger: log, Name: "tracktik"})
	if err != nil {
		return nil, err
	}
	streams, err := cfg.streams()
	if err != nil {
		return nil, err
	}
	ping := rest.Request{Path: "/rest/v1/employees", Query: url.Values{"limit": {"1"}}}
	return &stream.Source{Client: client, Ping: ping, Streams: streams, Options: stream.ReadOptions{PageConcurrency: cfg.Concurrency}}, nil
}

// streams declares every stream from its schema file: limit/offset
// paging, the meta envelope (meta.count is the total matching rows,
// docs/vendors/tracktik.md#envelopes), and the update strategy the file
// declares. TrackTik documents no updatedOn field or filter
// (docs/vendors/tracktik.md#incremental-sync), so an id watermark (id:gt)
// would never read a changed record again. Instead:
//
//   - employees, clients and positions are snapshots: small lists read
//     whole on every run, sorted by id, whose files the host replaces.
//     Changes (status, job title, phone, a deactivated client) are current
//     after every run, and a record the API no longer lists is gone from
//     the new snapshot.
//   - shifts, work-sessions and reports are lookback streams on the date
//     filters the API documents (docs/vendors/tracktik.md#paging: the
//     key:function=value syntax of the vendor's filter article, whose :after
//     function takes dates, e.g. reportDateTime:after=2025-09-01 00:00:00):
//     startedOn and reportDateTime. The state is the latest date read,
//     {"started_on": "..."}; each run lists from the earlier of that mark
//     and the run's start, less the lookback window (7 days unless the
//     source or stream sets lookback), through the end of the data, sorted
//     by the date and then the id. A change to a record dated inside the
//     window or in the future (a reassigned scheduled shift, a work
//     session closed, a report approved) is read again; a change to an
//     older record is not. Deleted records are not reported by the API:
//     a deleted shift keeps its last version in the files. The listing is
//     paged on the date filter, not on id:gt, so that a record back-filled
//     with a higher id but an earlier date than one already read is still
//     in the window. /reports rejects a listing without a filter, so the
//     filter is always set, from start_date on.
//
// Records read again are appended: the latest version of a key is the row
// with the latest _quiver_extracted_at (quiver compact keeps only it).
func (cfg *Config) streams() ([]*stream.Stream, error) {
	all, err := schemas.Vendor("tracktik")
	if err != nil {
		return nil, fmt.Errorf("tracktik: %w", err)
	}
	var out []*stream.Stream
	for _, sc := range all {
		st, err := stream.FromSchema(sc)
		if err != nil {
			return nil, fmt.Errorf("tracktik: %w", err)
		}
		st.Pager = rest.LimitOffset{Limit: cfg.PageSize}
		switch sc.Updates {
		case schemas.Snapshot:
			st.Request = stream.Get(sc.Path, url.Values{"sort": {"id"}})
		case schemas.Lookback:
			// The docs do not say whether :after takes records dated at
			// its value (docs/vendors/tracktik.md#paging). Asking from a
			// second before start_date and dropping the records before it
			// reads a record dated exactly at start_date either way.
			field, _, _ := strings.Cut(sc.Incremental.Filter, ":")
			from := cfg.start.Add(-time.Second)
			q := url.Values{"sort": {field + ",id"}, sc.Incremental.Filter: {from.Format(sc.Incremental.Layout)}}
			st.Request, st.LookbackFloor = stream.Get(sc.Path, q), from
			st.Select = notBefore(sc.Incremental.Cursor, cfg.start)
		default:
			return nil, fmt.Errorf("tracktik: stream %s: no reader for update strategy %q: %w", sc.Name, sc.Updates, sdk.ErrConfig)
		}
		out = append(out, st)
	}
	return out, nil
}

// notBefore returns a Select that drops the records whose timestamp column
// cursor is before start; records without one are kept.
func notBefore(cursor string, start time.Time) func(*records.Page) (arrow.Record, error) {
	return func(p *records.Page) (arrow.Record, error) {
		i := p.Record.Schema().FieldIndices(cursor)
		if len(i) != 1 {
			return nil, fmt.Errorf("tracktik: no column %s to compare with start_date", cursor)
		}
		col, ok := p.Record.Column(i[0]).(*array.Timestamp)
		if !ok {
			return nil, fmt.Errorf("tracktik: column %s is %s, not a timestamp", cursor, p.Record.Column(i[0]).DataType())
		}
		first, err := arrow.TimestampFromTime(start, col.DataType().(*arrow.TimestampType).Unit)
		if err != nil {
			return nil, fmt.Errorf("tracktik: start_date: %w", err)
		}
		return records.Filter(memory.DefaultAllocator, p.Record, func(r int) bool {
			return col.IsNull(r) || col.Value(r) >= first
		})
	}
}
