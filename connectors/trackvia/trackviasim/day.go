package trackviasim

import (
	"fmt"
	"slices"
)

// saltDay separates the draws of ApplyDay from the generated values.
const saltDay = 0xda7

// DayChanges counts what ApplyDay did, per view ID (UsersViewID: users).
type DayChanges struct {
	Inserted, Updated, Deleted map[int64]int
}

// ApplyDay applies one day of changes, as an account's users make them,
// and returns what it did. The changes depend only on Options.Seed and how
// many days were applied before. In every view (and users), about one
// record in fifty gets a new value in an editable text, number or dropDown
// field (which moves its "Last Updated" to Options.Now) and about one in a
// hundred is added. A view without a "Last Updated" field (users) also
// loses a record: TrackVia lists what is left, and only a view read whole
// can show that a record is gone, so views with a cursor keep theirs.
func (s *Server) ApplyDay() DayChanges {
	s.mu.Lock()
	day := s.days
	s.days++
	s.mu.Unlock()
	c := DayChanges{Inserted: map[int64]int{}, Updated: map[int64]int{}, Deleted: map[int64]int{}}
	x := hash4(s.opts.Seed, saltDay, uint64(day), 0)
	next := func(n int) int {
		x = splitmix(x)
		return int(x % uint64(n))
	}
	for _, vid := range append([]int64{UsersViewID}, s.viewIDs()...) {
		fields := s.Structure(vid)
		var editable []Field
		cursor := false
		for _, f := range fields {
			role := roleOf(f)
			cursor = cursor || role == roleUpdated
			if role != roleNone || f.ReadOnly || f.Name == "id" {
				continue
			}
			switch f.Type {
			case ShortAnswer, Paragraph, Number, Currency, DropDown:
				editable = append(editable, f)
			}
		}
		ids := s.IDs(vid)
		if len(ids) > 0 && len(editable) > 0 {
			for range max(1, len(ids)/50) {
				id := ids[next(len(ids))]
				f := editable[next(len(editable))]
				if s.Update(vid, id, f.Name, dayValue(f, day, next)) == nil {
					c.Updated[vid]++
				}
			}
		}
		if !cursor && len(ids) > 1 {
			if s.Delete(vid, ids[next(len(ids))]) == nil {
				c.Deleted[vid]++
			}
		}
		if n := max(1, len(ids)/100); s.Append(vid, n) == nil {
			c.Inserted[vid] += n
		}
	}
	return c
}

// viewIDs returns the IDs of the views in listing order.
func (s *Server) viewIDs() []int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.order)
}

// dayValue returns a new value for field f on day day.
func dayValue(f Field, day int, next func(int) int) any {
	switch f.Type {
	case Number, Currency:
		return float64(next(100000)) / 100
	case DropDown:
		if len(f.Choices) > 0 {
			return f.Choices[next(len(f.Choices))]
		}
	}
	return fmt.Sprintf("changed on day %d (%d)", day+1, next(1000))
}
