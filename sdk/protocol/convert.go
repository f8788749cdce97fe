package protocol

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/arrow/go/v17/arrow/memory"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/quiver-etl/quiver/sdk/protocol/internal/connectorpb"
)

// Conversions between the Go-native types of this package and the generated
// wire types. Empty slices and byte strings come back as nil.

func toProtoSpec(s *Spec) *connectorpb.Spec_Response {
	return &connectorpb.Spec_Response{
		Name:            s.Name,
		Version:         s.Version,
		ProtocolVersion: int32(s.ProtocolVersion),
		Description:     s.Description,
		ConfigSchema:    s.ConfigSchema,
		Streams:         s.Streams,
	}
}

func fromProtoSpec(p *connectorpb.Spec_Response) *Spec {
	return &Spec{
		Name:            p.GetName(),
		Version:         p.GetVersion(),
		ProtocolVersion: int(p.GetProtocolVersion()),
		Description:     p.GetDescription(),
		ConfigSchema:    rawJSON(p.GetConfigSchema()),
		Streams:         p.GetStreams(),
	}
}

func toProtoCatalog(mem memory.Allocator, c *Catalog) (*connectorpb.Catalog, error) {
	out := &connectorpb.Catalog{}
	for _, s := range c.Streams {
		if s.Schema == nil {
			return nil, fmt.Errorf("stream %s: no schema", s.Name)
		}
		schema, err := encodeSchema(mem, s.Schema)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", s.Name, err)
		}
		modes := make([]connectorpb.SyncMode, 0, len(s.SyncModes))
		for _, m := range s.SyncModes {
			pm, err := toProtoSyncMode(m)
			if err != nil {
				return nil, fmt.Errorf("stream %s: %w", s.Name, err)
			}
			modes = append(modes, pm)
		}
		out.Streams = append(out.Streams, &connectorpb.Stream{
			Name:        s.Name,
			Description: s.Description,
			Schema:      schema,
			PrimaryKey:  s.PrimaryKey,
			CursorField: s.CursorField,
			SyncModes:   modes,
			Updates:     string(s.Updates),
		})
	}
	return out, nil
}

func fromProtoCatalog(mem memory.Allocator, p *connectorpb.Catalog) (*Catalog, error) {
	out := &Catalog{}
	for _, s := range p.GetStreams() {
		schema, err := decodeSchema(mem, s.GetSchema())
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", s.GetName(), err)
		}
		var modes []SyncMode
		for _, pm := range s.GetSyncModes() {
			m, err := fromProtoSyncMode(pm)
			if err != nil {
				return nil, fmt.Errorf("stream %s: %w", s.GetName(), err)
			}
			modes = append(modes, m)
		}
		out.Streams = append(out.Streams, Stream{
			Name:        s.GetName(),
			Description: s.GetDescription(),
			Schema:      schema,
			PrimaryKey:  s.GetPrimaryKey(),
			CursorField: s.GetCursorField(),
			SyncModes:   modes,
			Updates:     Updates(s.GetUpdates()),
		})
	}
	return out, nil
}

func toProtoReadRequest(r *ReadRequest) (*connectorpb.Read_Request, error) {
	contract, err := toProtoContract(r.Contract)
	if err != nil {
		return nil, err
	}
	out := &connectorpb.Read_Request{Config: r.Config, Contract: contract, Limit: r.Limit}
	for _, s := range r.Streams {
		mode, err := toProtoSyncMode(s.Mode)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", s.Name, err)
		}
		sr := &connectorpb.StreamRequest{Name: s.Name, Mode: mode, State: s.State}
		if s.Lookback != 0 {
			sr.Lookback = durationpb.New(s.Lookback)
		}
		out.Streams = append(out.Streams, sr)
	}
	return out, nil
}

func fromProtoReadRequest(p *connectorpb.Read_Request) (*ReadRequest, error) {
	contract, err := fromProtoContract(p.GetContract())
	if err != nil {
		return nil, err
	}
	out := &ReadRequest{Config: p.GetConfig(), Contract: contract, Limit: p.GetLimit()}
	for _, s := range p.GetStreams() {
		mode, err := fromProtoSyncMode(s.GetMode())
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", s.GetName(), err)
		}
		sr := StreamRequest{Name: s.GetName(), Mode: mode, State: rawJSON(s.GetState())}
		if lb := s.GetLookback(); lb != nil {
			if err := lb.CheckValid(); err != nil || lb.AsDuration() < 0 {
				return nil, fmt.Errorf("stream %s: lookback %v is not a valid duration", s.GetName(), lb)
			}
			sr.Lookback = lb.AsDuration()
		}
		out.Streams = append(out.Streams, sr)
	}
	return out, nil
}

// wire pairs a Go value with its wire form.
type wire[G, P comparable] struct {
	g G
	p P
}

// syncModes maps sync modes; the empty mode (the stream's default) is
// SYNC_MODE_UNSPECIFIED.
var syncModes = []wire[SyncMode, connectorpb.SyncMode]{
	{"", connectorpb.SyncMode_SYNC_MODE_UNSPECIFIED},
	{FullRefresh, connectorpb.SyncMode_SYNC_MODE_FULL_REFRESH},
	{Incremental, connectorpb.SyncMode_SYNC_MODE_INCREMENTAL},
}

// contractActions maps contract actions; the empty action (the default,
// rescue) is CONTRACT_ACTION_UNSPECIFIED.
var contractActions = []wire[ContractAction, connectorpb.ContractAction]{
	{"", connectorpb.ContractAction_CONTRACT_ACTION_UNSPECIFIED},
	{Rescue, connectorpb.ContractAction_CONTRACT_ACTION_RESCUE},
	{Ignore, connectorpb.ContractAction_CONTRACT_ACTION_IGNORE},
	{Fail, connectorpb.ContractAction_CONTRACT_ACTION_FAIL},
}

var states = []wire[State, connectorpb.State]{
	{Started, connectorpb.State_STATE_STARTED},
	{Complete, connectorpb.State_STATE_COMPLETE},
	{Incomplete, connectorpb.State_STATE_INCOMPLETE},
	{Failed, connectorpb.State_STATE_FAILED},
}

func toWire[G, P comparable](table []wire[G, P], g G) (P, bool) {
	for _, w := range table {
		if w.g == g {
			return w.p, true
		}
	}
	var zero P
	return zero, false
}

func fromWire[G, P comparable](table []wire[G, P], p P) (G, bool) {
	for _, w := range table {
		if w.p == p {
			return w.g, true
		}
	}
	var zero G
	return zero, false
}

func toProtoSyncMode(m SyncMode) (connectorpb.SyncMode, error) {
	if p, ok := toWire(syncModes, m); ok {
		return p, nil
	}
	return 0, fmt.Errorf("unknown sync mode %q", string(m))
}

func fromProtoSyncMode(m connectorpb.SyncMode) (SyncMode, error) {
	if g, ok := fromWire(syncModes, m); ok {
		return g, nil
	}
	return "", fmt.Errorf("unknown sync mode %d", int32(m))
}

func toProtoContract(c SchemaContract) (*connectorpb.SchemaContract, error) {
	if c == (SchemaContract{}) {
		return nil, nil
	}
	unknown, ok1 := toWire(contractActions, c.OnUnknown)
	mismatch, ok2 := toWire(contractActions, c.OnMismatch)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("unknown schema contract %+v", c)
	}
	return &connectorpb.SchemaContract{OnUnknown: unknown, OnMismatch: mismatch}, nil
}

func fromProtoContract(p *connectorpb.SchemaContract) (SchemaContract, error) {
	unknown, ok1 := fromWire(contractActions, p.GetOnUnknown())
	mismatch, ok2 := fromWire(contractActions, p.GetOnMismatch())
	if !ok1 || !ok2 {
		return SchemaContract{}, fmt.Errorf("unknown schema contract actions %d, %d", p.GetOnUnknown(), p.GetOnMismatch())
	}
	return SchemaContract{OnUnknown: unknown, OnMismatch: mismatch}, nil
}

func toProtoDrift(d []Drift) []*connectorpb.Drift {
	var out []*connectorpb.Drift
	for _, x := range d {
		out = append(out, &connectorpb.Drift{Key: x.Key, Column: x.Column, Shapes: x.Shapes, Count: x.Count, RecordId: x.RecordID})
	}
	return out
}

func fromProtoDrift(p []*connectorpb.Drift) []Drift {
	var out []Drift
	for _, x := range p {
		out = append(out, Drift{Key: x.GetKey(), Column: x.GetColumn(), Shapes: x.GetShapes(), Count: x.GetCount(), RecordID: x.GetRecordId()})
	}
	return out
}

func toProtoState(s State) (connectorpb.State, error) {
	if p, ok := toWire(states, s); ok {
		return p, nil
	}
	return 0, fmt.Errorf("unknown stream state %d", int(s))
}

func fromProtoState(s connectorpb.State) (State, error) {
	if g, ok := fromWire(states, s); ok {
		return g, nil
	}
	return 0, fmt.Errorf("unknown stream state %d", int32(s))
}

func toProtoStatus(stream string, st Status) (*connectorpb.StreamStatus, error) {
	state, err := toProtoState(st.State)
	if err != nil {
		return nil, err
	}
	out := &connectorpb.StreamStatus{Stream: stream, State: state}
	if st.Err != nil {
		out.Error = st.Err.Error()
		out.ErrorClass = classOf(st.Err)
	}
	return out, nil
}

func fromProtoStatus(p *connectorpb.StreamStatus) (*StreamStatus, error) {
	state, err := fromProtoState(p.GetState())
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", p.GetStream(), err)
	}
	return &StreamStatus{
		Stream: p.GetStream(),
		Status: Status{State: state, Err: newRemoteError(p.GetError(), p.GetErrorClass())},
	}, nil
}

func toProtoProgress(stream string, p Progress) *connectorpb.Progress {
	return &connectorpb.Progress{
		Stream:    stream,
		Records:   p.Records,
		Pages:     p.Pages,
		Total:     p.Total,
		Retries:   p.Retries,
		ElapsedMs: p.Elapsed.Milliseconds(),
		Drift:     toProtoDrift(p.Drift),

		Concurrency:     int32(p.Concurrency),
		RateLimitWaitMs: p.RateLimitWait.Milliseconds(),
	}
}

func fromProtoProgress(p *connectorpb.Progress) *StreamProgress {
	var retries map[string]int64
	if len(p.GetRetries()) > 0 {
		retries = p.GetRetries()
	}
	return &StreamProgress{
		Stream: p.GetStream(),
		Progress: Progress{
			Records: p.GetRecords(),
			Pages:   p.GetPages(),
			Total:   p.GetTotal(),
			Retries: retries,
			Elapsed: time.Duration(p.GetElapsedMs()) * time.Millisecond,
			Drift:   fromProtoDrift(p.GetDrift()),

			Concurrency:   int(p.GetConcurrency()),
			RateLimitWait: time.Duration(p.GetRateLimitWaitMs()) * time.Millisecond,
		},
	}
}

// fromProtoResponse converts one Read response. A batch is decoded into a
// record the caller owns.
func fromProtoResponse(mem memory.Allocator, p *connectorpb.Read_Response) (Message, error) {
	switch m := p.GetMessage().(type) {
	case *connectorpb.Read_Response_Batch:
		rec, err := decodeBatch(mem, m.Batch.GetRecord(), m.Batch.GetRows())
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", m.Batch.GetStream(), err)
		}
		return &Batch{Stream: m.Batch.GetStream(), Record: rec}, nil
	case *connectorpb.Read_Response_Checkpoint:
		return &Checkpoint{Stream: m.Checkpoint.GetStream(), State: rawJSON(m.Checkpoint.GetState())}, nil
	case *connectorpb.Read_Response_Status:
		return fromProtoStatus(m.Status)
	case *connectorpb.Read_Response_Progress:
		return fromProtoProgress(m.Progress), nil
	}
	return nil, fmt.Errorf("unknown read message %T", p.GetMessage())
}

// rawJSON returns b as JSON, or nil when b is empty.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}
