package host

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any leaves a goroutine running,
// such as a writer that was never stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
