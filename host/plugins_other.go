//go:build !windows

package host

import "io/fs"

// exeSuffix ends the name of an executable file.
const exeSuffix = ""

// foldEnvNames is true where environment variable names ignore case.
const foldEnvNames = false

// executable reports whether a file of mode m may be run: some execute
// bit is set.
func executable(m fs.FileMode) bool { return m&0o111 != 0 }
