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
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// Version is the connector's release.
const Version = "0.1.0"

//go:embed config.schema.json
var configSchema []byte

// Connector is the TrackTik connector. The zero value is ready to use.
type Connector struct{}

// New returns the TrackTik connector.
func New() *Connector { return &Connector{} }

// Spec describes the connector.
func (*Connector) Spec() sdk.Spec {
	var names []string
	for _, s := range mustStreams() {
		names = append(names, s.Name)
	}
	return sdk.Spec{
		Name:         "tracktik",
		Version:      Version,
		Description:  "TrackTik REST API: employees, clients, positions, shifts, work sessions, reports",
		ConfigSchema: configSchema,
		Streams:      names,
	}
}

// Open parses config and prepares the HTTP client; it contacts nothing.
func (*Connector) Open(ctx context.Context, config []byte) (sdk.Source, error) {
	cfg, err := ParseConfig(config)
	if err != nil {
		return nil, err
	}
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
	client, err := rest.New(rest.Options{
		BaseURL: cfg.BaseURL,
		Auth:    tokens,
		Logger:  log,
		Name:    "tracktik",
	})
	if err != nil {
		return nil, err
	}
	streams, err := cfg.streams()
	if err != nil {
		return nil, err
	}
	return &source{cfg: cfg, client: client, streams: streams}, nil
}

// source reads one TrackTik portal.
type source struct {
	cfg     *Config
	client  *rest.Client
	streams []*stream.Stream
}

// Check logs in and reads one employee.
func (s *source) Check(ctx context.Context) error {
	err := s.client.Do(ctx, rest.Request{
		Path:  "/rest/v1/employees",
		Query: url.Values{"limit": {"1"}},
		Label: "check",
	}, nil)
	return err // the client's errors already say "tracktik: check"
}

// Discover returns the static streams.
func (s *source) Discover(context.Context) (*sdk.Catalog, error) {
	cat := &sdk.Catalog{}
	for _, st := range s.streams {
		cat.Streams = append(cat.Streams, st.Catalog())
	}
	return cat, nil
}

// Read reads the requested streams.
func (s *source) Read(ctx context.Context, req sdk.ReadRequest, w sdk.Writer) error {
	return stream.ReadStreams(ctx, s.client, s.streams, req, w, stream.ReadOptions{Allocator: memory.NewGoAllocator()})
}

// Close releases nothing: the client holds only idle connections.
func (s *source) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

var (
	_ sdk.Connector = (*Connector)(nil)
	_ sdk.Source    = (*source)(nil)
)

// mustStreams loads the embedded schemas; they are tested, so a failure is
// a build defect.
func mustStreams() []*schemas.Stream {
	st, err := schemas.Vendor("tracktik")
	if err != nil {
		panic(fmt.Sprintf("tracktik: embedded schemas: %v", err))
	}
	return st
}

// streams declares every stream: limit/offset paging, the meta envelope,
// and the update strategy its schema file declares (see state.go).
func (cfg *Config) streams() ([]*stream.Stream, error) {
	all, err := schemas.Vendor("tracktik")
	if err != nil {
		return nil, fmt.Errorf("tracktik: %w", err)
	}
	floor, err := time.Parse(time.DateOnly, cfg.StartDate)
	if err != nil {
		return nil, fmt.Errorf("tracktik: config: start_date %q: %w", cfg.StartDate, sdk.ErrConfig)
	}
	var out []*stream.Stream
	for _, sc := range all {
		modes := make([]sdk.SyncMode, 0, len(sc.SyncModes))
		for _, m := range sc.SyncModes {
			modes = append(modes, sdk.SyncMode(m))
		}
		st := &stream.Stream{
			Name:        sc.Name,
			Description: sc.Description,
			Schema:      sc.Schema,
			PrimaryKey:  sc.PrimaryKey,
			CursorField: sc.CursorField,
			SyncModes:   modes,
			Updates:     sdk.Updates(sc.Updates),
			Records:     []string{"data"},
			Pager:       rest.LimitOffset{Limit: cfg.PageSize},
			Info:        pageInfo,
		}
		switch sc.Updates {
		case schemas.Snapshot:
			st.Request = snapshotRequest(sc)
		case schemas.Lookback:
			wm, err := stream.NewWatermark(sc.Incremental, sc.Schema)
			if err != nil {
				return nil, fmt.Errorf("tracktik: stream %s: %w", sc.Name, err)
			}
			st.Request = windowRequest(sc, floor)
			st.Lookback, st.LookbackFloor = wm, floor
			st.Checkpoint = wm.Checkpoint
		default:
			return nil, fmt.Errorf("tracktik: stream %s: no reader for update strategy %q: %w", sc.Name, sc.Updates, sdk.ErrConfig)
		}
		out = append(out, st)
	}
	return out, nil
}

// snapshotRequest lists a whole entity, sorted by id.
func snapshotRequest(sc *schemas.Stream) func(json.RawMessage) (rest.Request, error) {
	return func(json.RawMessage) (rest.Request, error) {
		return rest.Request{Path: sc.Path, Query: url.Values{"sort": {"id"}}}, nil
	}
}

// windowRequest lists a date-keyed stream from start_date on, sorted by its
// date field and then by id; an incremental read narrows the date filter
// to its lookback window (stream.Stream.Lookback). The listing is paged on
// the date filter, not on id:gt, so that a record back-filled with a
// higher id but an earlier date than one already read is still in the
// window. /reports rejects a listing without a filter, so the filter is
// always set.
func windowRequest(sc *schemas.Stream, floor time.Time) func(json.RawMessage) (rest.Request, error) {
	field, _, _ := strings.Cut(sc.Incremental.Filter, ":")
	return func(json.RawMessage) (rest.Request, error) {
		q := url.Values{"sort": {field + ",id"}}
		q.Set(sc.Incremental.Filter, floor.Format(sc.Incremental.Layout))
		return rest.Request{Path: sc.Path, Query: q}, nil
	}
}

// cleanBaseURL trims what users paste after the portal's root.
func cleanBaseURL(u string) string {
	u = strings.TrimRight(u, "/")
	u = strings.TrimSuffix(u, "/rest/v1")
	return strings.TrimRight(u, "/")
}
