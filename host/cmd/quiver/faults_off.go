//go:build !quiverfault || !unix

package main

import "github.com/quiver-etl/quiver/host/sink"

// wrapFiles returns the file operations of the commit protocol as they
// are (test builds may inject crashes: see faults_kill.go).
func wrapFiles(f sink.Files) sink.Files { return f }
