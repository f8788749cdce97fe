// Package stream is the stream engine of Quiver's connectors: a connector
// declares its streams as values and ReadAll pages them through a
// rest.Client, decodes the pages into Arrow records (package records),
// checkpoints and reports to an sdk.Writer.
//
// # Declared connectors
//
// Connector and Source are ready implementations of sdk.Connector and
// sdk.Source: a connector declares its name, config schema and an open
// function returning a Source (a rest.Client, a Ping request for Check,
// its Streams and Children), and Discover and Read come from the
// declarations. FromSchema declares a stream from its schema file (path,
// records and total paths, catalog entry, incremental filter), so a plain
// listing needs only its Pager. Streams that are found at run time or
// declared anew for each read come from a Dynamic (PerRead for the
// simplest case).
//
// # Streams and child streams
//
// A Stream declares one paged listing; a Child declares a listing read once
// per record of a parent Stream (each customer's transactions), with the
// parent's keys in its requests and records, several parents at a time
// within the rest.Client's shared rate limiter. ReadStreams and ReadAll
// read them; a stream that fails is reported as Failed and the others go
// on. A Child's state is a window per run plus the parents done while the
// run is in progress; see Child.
//
// # Incremental reads
//
// A Watermark reads a stream incrementally by the high-water mark of its
// cursor column, as a schema file's "incremental" section declares it
// (schemas.Watermark): Filter sets the API's filter from the saved state,
// Checkpoint is a Stream.Checkpoint, and a Stream with Lookback reads a
// trailing window again on every run.
package stream
