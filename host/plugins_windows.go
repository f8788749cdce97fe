package host

import "io/fs"

// exeSuffix ends the name of an executable file.
const exeSuffix = ".exe"

// foldEnvNames is true where environment variable names ignore case.
const foldEnvNames = true

// executable reports whether a file of mode m may be run: on Windows the
// ".exe" suffix decides, and modes have no execute bits.
func executable(m fs.FileMode) bool { return m.IsRegular() }
