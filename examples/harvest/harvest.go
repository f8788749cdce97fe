// Package harvest is the Quiver connector for Harvest, the time-tracking
// service: clients, projects, tasks, users and time entries from its v2
// REST API, each a schema file in streams/. It is the worked example of
// docs/writing-a-connector.md; docs/vendors/harvest.md has the API's facts.
// Lists are sorted newest first, not by updated_at, so an incremental read
// (updated_since the mark) checkpoints once, after its last page
// (stream.UpdatedSince; docs/vendors/harvest.md#incremental-sync).
package harvest

import (
	"context"
	"embed"
	"errors"
	"net/http"

	"golang.org/x/time/rate"

	"github.com/quiver-etl/quiver/schemas"
	"github.com/quiver-etl/quiver/sdk"
	"github.com/quiver-etl/quiver/sdk/auth"
	"github.com/quiver-etl/quiver/sdk/rest"
	"github.com/quiver-etl/quiver/sdk/stream"
)

// Version is the connector's release.
const Version = "0.1.0"

var (
	//go:embed config.schema.json
	configSchema []byte
	//go:embed streams/*.json
	streamFiles embed.FS
	names       = []string{"clients", "projects", "tasks", "time_entries", "users"}
)

// Config is the connector's configuration; config.schema.json is its JSON
// Schema, whose defaults sdk.DecodeConfig fills in.
type Config struct {
	AccountID   string      `json:"account_id"`
	AccessToken auth.Secret `json:"access_token"`
	BaseURL     string      `json:"base_url"` // without /v2
	UserAgent   string      `json:"user_agent"`
	PerPage     int         `json:"per_page"` // 0: the API's maximum
}

// New returns the Harvest connector.
func New() *stream.Connector[Config] {
	return &stream.Connector[Config]{
		Name: "harvest", Version: Version, ConfigSchema: configSchema, Streams: names, Source: open,
		Description: "Harvest v2 REST API: clients, projects, tasks, users, time entries",
	}
}

// open returns the Source of the account cfg configures; it contacts nothing.
func open(ctx context.Context, cfg *Config) (*stream.Source, error) {
	client, err := rest.New(rest.Options{
		BaseURL: cfg.BaseURL, Name: "harvest", Logger: sdk.Logger(ctx), UserAgent: cfg.UserAgent,
		// 100 requests per 15 s (docs/vendors/harvest.md#rate-limits); 90
		// and a burst of 10 stay under it in any window.
		Limiter: rate.NewLimiter(rate.Limit(90.0/15), 10),
		Apply: func(req *http.Request, _ *auth.Token) {
			req.Header.Set("Authorization", "Bearer "+cfg.AccessToken.Reveal())
			req.Header.Set("Harvest-Account-Id", cfg.AccountID)
		},
	})
	var files []*schemas.Stream
	for _, name := range names {
		raw, _ := streamFiles.ReadFile("streams/" + name + ".json") // the tests read every one
		sc, perr := schemas.Parse(raw)
		files, err = append(files, sc), errors.Join(err, perr)
	}
	if err != nil {
		return nil, err
	}
	perRead := stream.PerRead(func() ([]*stream.Stream, error) { return declare(cfg, files) })
	return &stream.Source{Client: client, Ping: rest.Request{Path: "/v2/users/me"}, Dynamic: perRead}, nil
}

// declare declares every stream for one read, from its schema file
// (records path, total, next link, catalog): rest.NextLink follows
// links.next, and an incremental read keeps its progress in it
// (stream.UpdatedSince).
func declare(cfg *Config, files []*schemas.Stream) ([]*stream.Stream, error) {
	var out []*stream.Stream
	for _, sc := range files {
		st, err := stream.FromSchema(sc)
		if err != nil {
			return nil, err
		}
		st.Pager = rest.NextLink{LimitParam: "per_page", Limit: cfg.PerPage}
		if err := stream.UpdatedSince(st, sc.Incremental.Filter, stream.SinceOptions{}); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
