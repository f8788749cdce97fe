// Package protocol is the Quiver connector plugin protocol
// (quiver.connector.v1): Go-native wire types, the Plugin interface that a
// plugin serves, Serve for the plugin side and Open/Client for the host side.
//
// The transport is hashicorp/go-plugin over gRPC with automatic mutual TLS.
// Configs travel over RPC, never through the environment. Records travel as
// Arrow IPC, one record batch per message, validated on receipt. Error
// classes (ErrConfig, ErrAuth, ErrTemporary, ErrCanceled) survive the
// boundary, so errors.Is works on the host. The generated code is internal;
// no exported identifier mentions it.
//
// # Getting started
//
// Connector authors use sdk.Serve, which adapts an sdk.Connector to Plugin.
// The host side looks like this:
//
//	c, err := protocol.Open(ctx, "/usr/libexec/quiver/quiver-tracktik", protocol.Options{
//		Logger:   logger,
//		Checksum: sum, // SHA-256 from the plugin manifest, optional
//	})
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//
//	if err := c.Check(ctx, config); errors.Is(err, protocol.ErrAuth) {
//		return fmt.Errorf("source acme: %w", err)
//	}
//	rs, err := c.Read(ctx, &protocol.ReadRequest{Config: config, Streams: streams})
//	if err != nil {
//		return err
//	}
//	defer rs.Close()
//	for rs.Next() {
//		switch m := rs.Message().(type) {
//		case *protocol.Batch:
//			// m.Record is valid until the next call of Next.
//		case *protocol.Checkpoint:
//			// commit m.State once the batches before it are durable.
//		}
//	}
//	return rs.Err()
package protocol
