package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// CheckResult is the outcome of checking one source.
type CheckResult struct {
	Source    string `json:"source"`
	Connector string `json:"connector"`
	Status    string `json:"status"` // ok or failed
	Error     string `json:"error,omitempty"`
}

// Check validates each source's config and asks its plugin to authenticate
// and make one cheap request. It checks every source and returns the
// results with the errors joined.
func Check(ctx context.Context, cfg *Config, plugins Plugins) ([]CheckResult, error) {
	var results []CheckResult
	var errs []error
	for i, src := range cfg.Sources {
		r := CheckResult{Source: src.Name, Connector: src.Connector, Status: "ok"}
		err := withPlugin(ctx, cfg, i, plugins, func(c *protocol.Client, config []byte) error {
			return c.Check(ctx, config)
		})
		if err != nil {
			r.Status, r.Error = "failed", err.Error()
			errs = append(errs, fmt.Errorf("source %s: %w", src.Name, err))
		}
		results = append(results, r)
	}
	return results, errors.Join(errs...)
}

// SourceCatalog is the discovered catalog of one source, in a form fit for
// printing.
type SourceCatalog struct {
	Source    string          `json:"source"`
	Connector string          `json:"connector"`
	Streams   []StreamCatalog `json:"streams"`
	Error     string          `json:"error,omitempty"`
}

// StreamCatalog describes one discovered stream.
type StreamCatalog struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	PrimaryKey  []string `json:"primary_key"`
	CursorField string   `json:"cursor_field,omitempty"`
	SyncModes   []string `json:"sync_modes"`
	// Updates is how the stream sees changes to records already read:
	// cursor, snapshot or lookback.
	Updates string   `json:"updates,omitempty"`
	Columns []Column `json:"columns"`
	// Sample is what `discover --sample N` found in the stream's first
	// records; absent without --sample.
	Sample *StreamSample `json:"sample,omitempty"`
}

// StreamSample is what the first records of a stream hold that its schema
// cannot take.
type StreamSample struct {
	// Records is how many records were read (at most the sample's size).
	Records int64 `json:"records"`
	// Drift is what the schema could not take; absent when it took every
	// value.
	Drift *Drift `json:"drift,omitempty"`
	// Error says why the stream could not be read, if it could not.
	Error string `json:"error,omitempty"`
}

// DiscoverOptions configure Discover.
type DiscoverOptions struct {
	// Sample, when positive, reads up to Sample records of every stream
	// (nothing is written, no state is saved) and reports what they hold
	// that the schema cannot take.
	Sample int64
}

// Column is one column of a stream: its name and Arrow type.
type Column struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

// Discover asks each source's plugin for its streams and schemas, and with
// opts.Sample reads a sample of each stream.
func Discover(ctx context.Context, cfg *Config, plugins Plugins, opts DiscoverOptions) ([]SourceCatalog, error) {
	var out []SourceCatalog
	var errs []error
	for i, src := range cfg.Sources {
		sc := SourceCatalog{Source: src.Name, Connector: src.Connector, Streams: []StreamCatalog{}}
		err := withPlugin(ctx, cfg, i, plugins, func(c *protocol.Client, config []byte) error {
			cat, err := discover(ctx, c, src.Connector, config)
			if err != nil {
				return err
			}
			for _, s := range cat.Streams {
				st := StreamCatalog{Name: s.Name, Description: s.Description, PrimaryKey: s.PrimaryKey, CursorField: s.CursorField, Updates: string(s.Updates)}
				for _, m := range s.SyncModes {
					st.SyncModes = append(st.SyncModes, string(m))
				}
				for _, f := range s.Schema.Fields() {
					st.Columns = append(st.Columns, Column{Name: f.Name, Type: f.Type.String(), Nullable: f.Nullable})
				}
				sc.Streams = append(sc.Streams, st)
			}
			if opts.Sample > 0 {
				return sample(ctx, c, config, cat, opts.Sample, sc.Streams)
			}
			return nil
		})
		if err != nil {
			sc.Error = err.Error()
			errs = append(errs, fmt.Errorf("source %s: %w", src.Name, err))
		}
		out = append(out, sc)
	}
	return out, errors.Join(errs...)
}

// withPlugin starts the plugin of source i, validates the source's config
// against the plugin's schema and calls f with the config as JSON.
func withPlugin(ctx context.Context, cfg *Config, i int, plugins Plugins, f func(*protocol.Client, []byte) error) error {
	c, err := plugins.Open(ctx, cfg.Sources[i].Connector)
	if err != nil {
		return err
	}
	defer c.Close()
	spec, err := c.Spec(ctx)
	if err != nil {
		return err
	}
	if err := cfg.Validate(i, spec.ConfigSchema); err != nil {
		return err
	}
	config, err := cfg.ConfigJSON(i)
	if err != nil {
		return err
	}
	return f(c, config)
}

// sample reads up to n records of every stream of cat with c, discarding
// them, and sets each stream's Sample. Every value the schemas cannot take
// is rescued for the count, whatever the source's schema_contract says.
func sample(ctx context.Context, c *protocol.Client, config []byte, cat *protocol.Catalog, n int64, streams []StreamCatalog) error {
	req := &protocol.ReadRequest{Config: config, Limit: n}
	byName := map[string]*StreamSample{}
	for i, s := range cat.Streams {
		req.Streams = append(req.Streams, protocol.StreamRequest{Name: s.Name, Mode: protocol.FullRefresh})
		streams[i].Sample = &StreamSample{}
		byName[s.Name] = streams[i].Sample
	}
	rs, err := c.Read(ctx, req)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		switch m := rs.Message().(type) {
		case *protocol.Batch:
			if s := byName[m.Stream]; s != nil {
				s.Records += m.Record.NumRows()
			}
		case *protocol.StreamProgress:
			if s := byName[m.Stream]; s != nil {
				s.Drift = newDrift(m.Progress.Drift)
			}
		case *protocol.StreamStatus:
			if s := byName[m.Stream]; s != nil && m.Status.Err != nil {
				s.Error = m.Status.Err.Error()
			}
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	return nil
}
