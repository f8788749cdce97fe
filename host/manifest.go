package host

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quiver-etl/quiver/host/sink"
)

// writeManifest records the run in _runs/<run>.json in the destination.
func writeManifest(d *destination, res *Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if d.remote() {
		if err := putManifest(d, res.RunID, append(b, '\n')); err != nil {
			return fmt.Errorf("manifest: %w", err)
		}
		return nil
	}
	dir := filepath.Join(d.root, "_runs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if err := sink.WriteFile(filepath.Join(dir, res.RunID+".json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}
