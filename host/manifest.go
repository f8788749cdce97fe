package host

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quiver-etl/quiver/host/sink"
)

// writeManifest records the run in <out>/_runs/<run>.json.
func writeManifest(out string, res *Result) error {
	dir := filepath.Join(out, "_runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := sink.WriteFile(filepath.Join(dir, res.RunID+".json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}
