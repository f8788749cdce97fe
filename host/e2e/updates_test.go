package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/quiver-etl/quiver/connectors/tracktik/tracktiksim"
)

// TestTrackTik_DayOfUpdates: sync, a day of changes at the vendor
// (statuses, job titles and phones; deactivated clients; reassigned,
// scheduled and back-filled shifts; closed work sessions; approved
// reports), sync again: the latest version of every record in the files
// equals the simulator's, with no id missing or extra, and the second run
// of a lookback stream reads only its window and the new records.
func TestTrackTik_DayOfUpdates(t *testing.T) {
	t.Parallel()
	srv := tracktiksim.NewServer(t, tracktiksim.Options{Seed: 23})
	out := t.TempDir()
	cfg := writeConfig(t, out, trackTikConfig(srv, out, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	first, _ := syncJSON(ctx, t, 0, "-c", cfg)
	changes := srv.ApplyDay()
	t.Logf("a day of changes: inserted %v, updated %v", changes.Inserted, changes.Updated)
	for _, s := range trackTikStreams {
		if changes.Updated[s] == 0 && s != "positions" {
			t.Errorf("the day changed no %s", s)
		}
	}
	second, _ := syncJSON(ctx, t, 0, "-c", cfg)
	for _, name := range trackTikStreams {
		a, b := first.stream(name), second.stream(name)
		t.Logf("%s (%s): first run read %d records, the second %d", name, b.Mode, a.Records, b.Records)
		if _, _, ok := lookbackCursor(name); ok {
			if b.Records == 0 || b.Records*10 > a.Records {
				t.Errorf("%s: the second run read %d records of %d; want the window's, far fewer", name, b.Records, a.Records)
			}
		} else if b.Records != int64(srv.Count(name)) {
			t.Errorf("%s: the second run read %d records, want the whole snapshot, %d", name, b.Records, srv.Count(name))
		}
		checkTrackTikLatest(t, srv, out, name)
	}
	// The back-filled shift: a higher id than every other, an earlier
	// startedOn than the latest ones.
	ids := srv.IDs("shifts")
	back := ids[len(ids)-1]
	found := false
	for _, row := range readStream(t, filepath.Join(out, "data", "acme", "shifts")).rows {
		found = found || row["id"] == back
	}
	if !found {
		t.Errorf("the back-filled shift %d was not read", back)
	}
}
