package sdk

import (
	"context"
	"encoding/json"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/quiver-etl/quiver/sdk/protocol"
)

// A Connector is a vendor's entry point. Values returned by a vendor's New are
// cheap and do no I/O.
type Connector interface {
	// Spec describes the connector. It must not do I/O.
	Spec() Spec
	// Open parses and validates config (raw JSON) and returns a Source for it.
	// Open must not contact the vendor; Check does that. Errors wrap ErrConfig.
	Open(ctx context.Context, config []byte) (Source, error)
}

// A Source reads one configured account. Its methods may be called
// concurrently; Close is called once, after all other calls have returned.
type Source interface {
	// Check authenticates and makes one cheap request. ctx bounds the work.
	Check(ctx context.Context) error
	// Discover returns the streams this account can read with their schemas.
	Discover(ctx context.Context) (*Catalog, error)
	// Read reads req's streams into w and returns when they are done or ctx
	// is cancelled. A stream that fails is reported through w.Status and the
	// others go on; the error returned is for failures of the whole read.
	Read(ctx context.Context, req ReadRequest, w Writer) error
	// Close releases what the Source holds.
	Close() error
}

// A Writer receives what Read produces. Its methods are safe for concurrent
// use and block for backpressure; a non-nil error means stop reading and
// return it.
type Writer interface {
	// WriteBatch sends rec for stream. WriteBatch retains what it keeps of
	// rec; the caller still releases its own reference, and never changes a
	// record it has written. An error of any method may concern batches
	// written before (a plugin sends them joined, later): the stream then
	// takes nothing more and cannot be reported Complete.
	WriteBatch(ctx context.Context, stream string, rec arrow.Record) error
	// Checkpoint says every batch of stream written before it is covered by
	// state: a read resumed from state sends none of them again.
	Checkpoint(ctx context.Context, stream string, state json.RawMessage) error
	// Status reports a stream's life cycle: Started, then one of Complete,
	// Incomplete or Failed.
	Status(ctx context.Context, stream string, st Status) error
	// Progress reports how far a stream has got. It is advisory.
	Progress(ctx context.Context, stream string, p Progress) error
}

// Spec describes a connector.
type Spec struct {
	Name         string          // e.g. "tracktik"; the plugin binary is quiver-<Name>
	Version      string          // connector release
	Description  string          // one line
	ConfigSchema json.RawMessage // JSON Schema of the config object
	Streams      []string        // static stream names
}

// Catalog lists the streams a Source can read.
type Catalog = protocol.Catalog

// Stream describes one stream of a Catalog.
type Stream = protocol.Stream

// ReadRequest selects the streams to read and their saved state.
type ReadRequest struct {
	Streams []StreamRequest
	// Contract says what to do with keys the schemas do not know and values
	// that do not fit their columns; the zero value rescues both into the
	// _quiver_rescued column (see package records).
	Contract SchemaContract
	// Limit, when positive, makes the read a sample: each stream ends
	// (Complete) once it has sent Limit records, the last page cut to fit.
	// Its checkpoints do not cover what was left out; the host does not
	// save them.
	Limit int64
}

// SchemaContract says what a read does with what a stream's schema cannot
// take.
type SchemaContract = protocol.SchemaContract

// ContractAction is one choice of a SchemaContract.
type ContractAction = protocol.ContractAction

// Contract actions.
const (
	Rescue = protocol.Rescue
	Ignore = protocol.Ignore
	Fail   = protocol.Fail
)

// Drift counts the values of one key that a stream's schema could not take.
type Drift = protocol.Drift

// StreamRequest selects one stream of a ReadRequest.
type StreamRequest = protocol.StreamRequest

// SyncMode says how a stream is read.
type SyncMode = protocol.SyncMode

// Sync modes.
const (
	FullRefresh = protocol.FullRefresh
	Incremental = protocol.Incremental
)

// Updates says how a stream sees changes to records it has already read.
type Updates = protocol.Updates

// Update strategies (see protocol.Updates).
const (
	Cursor   = protocol.Cursor
	Snapshot = protocol.Snapshot
	Lookback = protocol.Lookback
)

// Status is a stream's life-cycle state with the error that ended it.
type Status = protocol.Status

// Stream states.
const (
	Started    = protocol.Started
	Complete   = protocol.Complete
	Incomplete = protocol.Incomplete
	Failed     = protocol.Failed
)

// Progress is a stream's running count.
type Progress = protocol.Progress
