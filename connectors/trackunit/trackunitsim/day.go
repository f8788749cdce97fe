package trackunitsim

import "fmt"

// saltDay separates the draws of ApplyDay from the generated data.
const saltDay = 0xda7

// DayChanges counts what ApplyDay did, per stream.
type DayChanges struct {
	Inserted, Updated map[string]int
}

// ApplyDay applies one day of changes to the fleet and returns what it
// did. The changes depend only on Options.Seed and how many days were
// applied before. A day renames or re-models about one asset in twenty and
// onboards a new one, moves about one asset in ten (a new speed and
// accuracy in its latest location), adds operating hours to about one
// machine in ten of the AEMP fleet snapshot, and logs new asset events
// (which happened just now, by Options.Now). Events are not edited and
// nothing is deleted.
func (s *Server) ApplyDay() DayChanges {
	s.mu.Lock()
	day := s.days
	s.days++
	s.mu.Unlock()
	c := DayChanges{Inserted: map[string]int{}, Updated: map[string]int{}}
	x := mix(s.opts.Seed ^ saltDay<<40 ^ uint64(day+1))
	next := func(n int) int {
		x = mix(x + 0x9e3779b97f4a7c15)
		return int(x % uint64(n))
	}
	edit := func(stream string, every int, field func(k int) (string, any)) {
		ids := s.IDs(stream)
		if len(ids) == 0 {
			return
		}
		seen := map[string]bool{}
		for k := range max(1, len(ids)/every) {
			id := ids[next(len(ids))]
			name, v := field(k)
			if s.Update(stream, id, name, v) == nil && !seen[id] {
				seen[id] = true
				c.Updated[stream]++
			}
		}
	}
	edit(StreamAssets, 20, func(k int) (string, any) {
		if k%2 == 0 {
			return "name", fmt.Sprintf("Renamed %d-%d", day+1, next(1000))
		}
		return "model", fmt.Sprintf("M%d", 100+next(900))
	})
	edit(StreamLocations, 10, func(k int) (string, any) {
		if k%2 == 0 {
			return "properties.speed", float64(next(12000)) / 100
		}
		return "properties.accuracy", float64(1 + next(50))
	})
	edit(StreamFleetSnapshot, 10, func(int) (string, any) {
		return "CumulativeOperatingHours.Hour", float64(1000+next(900000)) / 100
	})
	if s.Append(StreamAssets, 1) == nil {
		c.Inserted[StreamAssets]++
	}
	if n := max(1, s.Count(StreamAssetEvents)/50); s.Append(StreamAssetEvents, n) == nil {
		c.Inserted[StreamAssetEvents] += n
	}
	return c
}
