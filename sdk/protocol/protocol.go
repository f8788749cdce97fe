package protocol

import (
	"context"
	"encoding/json"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
)

// Version is the plugin protocol version spoken by this package. The go-plugin
// handshake refuses a plugin built against a different version.
const Version = 1

// A Plugin is the Go-native form of the quiver.connector.v1 service. The sdk
// package adapts an sdk.Connector to it; Serve exposes it over gRPC; the host
// reaches it through a Client.
//
// Every method takes the connector's raw JSON config, so the plugin holds no
// state between calls. Methods may be called concurrently. Errors should wrap
// one of the class sentinels (ErrConfig, ErrAuth, ErrTemporary, ErrCanceled);
// the class survives the process boundary, the message is kept verbatim.
type Plugin interface {
	// Spec describes the plugin. It must not do I/O.
	Spec(ctx context.Context) (*Spec, error)
	// Check validates config, authenticates and makes one cheap request.
	Check(ctx context.Context, config []byte) error
	// Discover returns the streams the config can read, with their schemas.
	Discover(ctx context.Context, config []byte) (*Catalog, error)
	// Read reads the requested streams and reports everything through w. It
	// returns when every stream is done or ctx is cancelled. A failure of one
	// stream is reported with w.Status and does not stop the others; the
	// returned error is for failures of the whole read (auth, config).
	Read(ctx context.Context, req *ReadRequest, w Writer) error
}

// Spec describes a connector.
type Spec struct {
	Name            string          // connector name, e.g. "tracktik"
	Version         string          // connector release
	ProtocolVersion int             // always Version
	Description     string          // one line for `quiver spec`
	ConfigSchema    json.RawMessage // JSON Schema of the config object
	Streams         []string        // static stream names; dynamic connectors may list none
}

// SyncMode says how a stream is read.
type SyncMode string

// Sync modes.
const (
	FullRefresh SyncMode = "full_refresh" // read everything; replaces earlier output on success
	Incremental SyncMode = "incremental"  // read from the saved state onwards; appends
)

// Catalog lists the streams a config can read.
type Catalog struct {
	Streams []Stream
}

// Stream describes one stream of a Catalog.
type Stream struct {
	Name        string
	Description string
	Schema      *arrow.Schema // every batch of the stream has exactly this schema
	PrimaryKey  []string      // column names
	CursorField string        // column the incremental state follows; empty if none
	SyncModes   []SyncMode    // supported modes; the first is the default
	Updates     Updates       // how updates to records already read are seen; "" if unsaid
}

// Updates says how a stream sees changes to records it has already read.
type Updates string

// Update strategies.
const (
	// Cursor streams are read from a saved mark on a field the API filters
	// on and that changes on every update ("Last Updated"): each change is
	// read once, by the next run.
	Cursor Updates = "cursor"
	// Snapshot streams have no usable change filter and are read whole on
	// every run; the host replaces the stream's files with the new
	// snapshot, so changed records are current and deleted ones are gone.
	Snapshot Updates = "snapshot"
	// Lookback streams are read from a saved mark on a date field, less a
	// window (StreamRequest.Lookback) re-read on every run: changes to
	// records dated inside the window, or in the future, are read again.
	Lookback Updates = "lookback"
)

// ReadRequest asks a plugin to read streams.
type ReadRequest struct {
	Config   []byte          // the connector's raw JSON config
	Streams  []StreamRequest // in the order the user listed them
	Contract SchemaContract  // what to do with what the schemas cannot take
	// Limit, when positive, makes the read a sample, as `quiver discover
	// --sample` reads: each stream ends (Complete) once it has sent Limit
	// records, the last page cut to fit. Its checkpoints do not cover what
	// was left out, so a sample's state must not be saved.
	Limit int64
}

// A SchemaContract says what a read does with what a stream's schema cannot
// take. The zero value rescues everything.
type SchemaContract struct {
	// OnUnknown is for a key the schema does not know: Rescue (keep it in
	// the _quiver_rescued column), Ignore (drop it) or Fail (fail the
	// stream).
	OnUnknown ContractAction
	// OnMismatch is for a value whose shape does not fit its column:
	// Rescue (the column gets null, the value goes to _quiver_rescued) or
	// Fail.
	OnMismatch ContractAction
}

// A ContractAction is one choice of a SchemaContract; "" means Rescue.
type ContractAction string

// Contract actions.
const (
	Rescue ContractAction = "rescue"
	Ignore ContractAction = "ignore"
	Fail   ContractAction = "fail"
)

// Drift counts the values of one JSON key that a stream's schema could not
// take, as rescued into the _quiver_rescued column: a key the schema does
// not know, or a value whose shape does not fit its column. It holds shapes,
// never values.
type Drift struct {
	// Key is the value's key in the record; inside structs and lists a
	// path, with "[]" for any list element, as in "location.lat" or
	// "contacts[].email".
	Key string
	// Column is the column the value did not fit, as in "location.lat" or
	// "tags[]"; "" for a key the schema does not know.
	Column string
	// Shapes are the JSON shapes seen, sorted: "array", "boolean",
	// "number", "object", "string".
	Shapes []string
	// Count is how many values were rescued.
	Count int64
	// RecordID is the id of one record that held such a value, for the
	// log; "" when the record has none.
	RecordID string
}

// StreamRequest selects one stream of a ReadRequest.
type StreamRequest struct {
	Name  string
	Mode  SyncMode
	State json.RawMessage // last committed checkpoint; nil for a fresh start
	// Lookback is the window a "lookback" stream reads again; zero means
	// the stream's default. Other streams ignore it.
	Lookback time.Duration
}

// A Writer receives what Read produces. Its methods are safe for concurrent
// use and block for backpressure; a non-nil error means stop reading and
// return it.
type Writer interface {
	// WriteBatch sends rec for stream. It may keep rec, retained, to send it
	// joined with the stream's next batches; the caller still releases its
	// own reference, and never changes a record it has written. An error
	// of any call may concern batches accepted before: the stream then
	// takes nothing more and cannot be reported Complete.
	WriteBatch(ctx context.Context, stream string, rec arrow.Record) error
	// Checkpoint says that every batch of stream written before it is covered
	// by state: a read resumed from state produces none of them again.
	Checkpoint(ctx context.Context, stream string, state json.RawMessage) error
	// Status reports a stream's life cycle: Started first, then exactly one of
	// Complete, Incomplete or Failed.
	Status(ctx context.Context, stream string, st Status) error
	// Progress reports how far a stream has got. It is advisory.
	Progress(ctx context.Context, stream string, p Progress) error
}

// State is the life-cycle state of a stream within a read.
type State int

// Stream states.
const (
	Started    State = iota + 1 // the stream began reading
	Complete                    // every record was sent
	Incomplete                  // stopped early (cancelled); checkpoints so far hold
	Failed                      // stopped by an error; checkpoints so far hold
)

// String returns the lower-case name of s.
func (s State) String() string {
	switch s {
	case Started:
		return "started"
	case Complete:
		return "complete"
	case Incomplete:
		return "incomplete"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// Status is a stream's state with, for Failed, the error that stopped it.
// Err wraps a class sentinel when the class is known.
type Status struct {
	State State
	Err   error
}

// Progress is a stream's running count.
type Progress struct {
	Records int64            // records sent so far
	Pages   int64            // API pages fetched so far
	Total   int64            // records the API says exist; 0 when unknown
	Retries map[string]int64 // retries so far by reason ("429", "5xx", "lag_401", ...)
	Elapsed time.Duration    // time since the stream started
	Drift   []Drift          // what the schema could not take so far, by Key
	// Concurrency is the most page requests the stream had in flight at
	// once so far; 0 when the connector does not say.
	Concurrency int
	// RateLimitWait is the time the stream's requests waited on rate
	// limits so far: limiters, and pauses after a 429.
	RateLimitWait time.Duration
}

// A Message is one item of a read as the host sees it: *Batch, *Checkpoint,
// *StreamStatus or *StreamProgress.
type Message interface{ isMessage() }

// Batch carries one Arrow record of a stream. Record is valid until the next
// call of ReadStream.Next; Retain it to keep it longer.
type Batch struct {
	Stream string
	Record arrow.Record
}

// Checkpoint is the state covering every earlier Batch of Stream.
type Checkpoint struct {
	Stream string
	State  json.RawMessage
}

// StreamStatus is a life-cycle event of Stream.
type StreamStatus struct {
	Stream string
	Status Status
}

// StreamProgress is a progress report of Stream.
type StreamProgress struct {
	Stream   string
	Progress Progress
}

func (*Batch) isMessage()          {}
func (*Checkpoint) isMessage()     {}
func (*StreamStatus) isMessage()   {}
func (*StreamProgress) isMessage() {}
