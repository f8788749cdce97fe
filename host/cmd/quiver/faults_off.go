//go:build !quiverfault || !unix

package main

import "github.com/quiver-etl/quiver/host/sink"

// commitFiles returns the file operations of the commit protocol: the
// local file system (test builds may inject crashes: see faults_kill.go).
func commitFiles() sink.Files { return sink.OS{} }
