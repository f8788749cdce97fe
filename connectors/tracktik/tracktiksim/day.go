package tracktiksim

import (
	"time"
)

// saltDay separates the draws of ApplyDay from those of the generator.
const saltDay uint64 = 0xda7

// recent is how far back from a stream's latest record a day's edits reach:
// people edit the shifts, sessions and reports of the last day or two.
const recent = 2 * 24 * 3600

// DayChanges counts what ApplyDay did, per stream.
type DayChanges struct {
	Inserted map[string]int
	Updated  map[string]int // records changed (a record counts once per day)
	Deleted  map[string]int
}

// ApplyDay applies one day of changes, as a portal's users make them, and
// returns what it did. The changes depend only on Options.Seed and how many
// days were applied before, so two servers with the same seed that apply
// the same number of days serve the same data. A day:
//
//   - employees: some change status (ACTIVE, INACTIVE, TERMINATED), job
//     title or primary phone; new hires are added;
//   - clients: some are deactivated (status INACTIVE); one is added;
//   - positions: one is deactivated, one gets a new pay rate and one is
//     deleted (a post removed), which only a whole read of the list shows;
//   - shifts: the shifts of the last two days (before the latest one) are
//     reassigned to another employee, new ones are scheduled after the
//     latest, and one is back-filled: a new id dated a day before the
//     latest shift, so that id order and startedOn order disagree;
//   - work-sessions: open sessions of the last two days are closed (status
//     CLOSED, endedOn set); new ones are added, the newest left OPEN;
//   - reports: SUBMITTED reports of the last two days are APPROVED; new
//     ones are filed (SUBMITTED).
//
// Shifts, work sessions and reports are never deleted.
func (s *Server) ApplyDay() DayChanges {
	s.dmu.Lock()
	day := s.days
	s.days++
	s.dmu.Unlock()
	r := rng(mix64(s.opts.Seed ^ saltDay<<40 ^ uint64(day+1)))
	c := DayChanges{Inserted: map[string]int{}, Updated: map[string]int{}, Deleted: map[string]int{}}
	touched := map[string]map[int64]bool{}
	update := func(stream string, id int64, field string, v any) {
		if s.Update(stream, id, field, v) != nil {
			return
		}
		if touched[stream] == nil {
			touched[stream] = map[int64]bool{}
		}
		if !touched[stream][id] {
			touched[stream][id] = true
			c.Updated[stream]++
		}
	}
	insert := func(stream string, n int) (first int) {
		first = s.size(streamIndex(stream))
		s.Append(stream, n)
		c.Inserted[stream] += n
		return first // the index of the first new record
	}
	pick := func(stream string) (int64, bool) {
		ids := s.IDs(stream)
		if len(ids) == 0 {
			return 0, false
		}
		return ids[r.intn(len(ids))], true
	}

	// Employees: status, job title, phone; new hires.
	n := s.Count("employees")
	for range max(1, n/40) {
		if id, ok := pick("employees"); ok {
			update("employees", id, "status", []string{"ACTIVE", "INACTIVE", "TERMINATED"}[r.intn(3)])
		}
		if id, ok := pick("employees"); ok {
			update("employees", id, "jobTitle", jobTitles[r.intn(len(jobTitles))])
		}
		if id, ok := pick("employees"); ok {
			update("employees", id, "primaryPhone", string(appendPhone(nil, &r)))
		}
	}
	insert("employees", max(1, n/100))

	// Clients and positions.
	for range max(1, s.Count("clients")/20) {
		if id, ok := pick("clients"); ok {
			update("clients", id, "status", "INACTIVE")
		}
	}
	insert("clients", 1)
	if id, ok := pick("positions"); ok {
		update("positions", id, "status", "INACTIVE")
	}
	if id, ok := pick("positions"); ok {
		update("positions", id, "payRate", float64(1700+25*r.intn(64))/100)
	}
	if id, ok := pick("positions"); ok && s.Delete("positions", id) == nil {
		c.Deleted["positions"]++
	}

	// Shifts: reassign the recent ones, schedule new ones, back-fill one.
	latest := s.recentRecords(sShifts, func(int, int64) bool { return true })
	var last int64
	for _, i := range latest {
		last = max(last, s.timeOf(sShifts, i))
	}
	for _, i := range latest {
		if emp, ok := pick("employees"); ok {
			update("shifts", s.w.id(sShifts, i), "employee", emp)
			update("shifts", s.w.id(sShifts, i), "status", "SCHEDULED")
		}
	}
	insert("shifts", 3)
	if last > 0 {
		i := insert("shifts", 1)
		id := s.w.id(sShifts, i)
		start := last - 24*3600
		start -= start % 900
		update("shifts", id, "startedOn", time.Unix(start, 0))
		update("shifts", id, "endedOn", time.Unix(start+8*3600, 0))
		update("shifts", id, "hoursCount", 8.0)
		update("shifts", id, "status", "COMPLETED")
	}

	// Work sessions: close the open ones, add new ones, the newest open.
	open := s.recentRecords(sWorkSessions, func(i int, _ int64) bool { return s.fieldString(sWorkSessions, i, "status") == "OPEN" })
	for _, i := range open {
		id := s.w.id(sWorkSessions, i)
		update("work-sessions", id, "status", "CLOSED")
		update("work-sessions", id, "endedOn", time.Unix(s.timeOf(sWorkSessions, i)+8*3600, 0))
	}
	i := insert("work-sessions", 2) + 1
	update("work-sessions", s.w.id(sWorkSessions, i), "status", "OPEN")
	update("work-sessions", s.w.id(sWorkSessions, i), "endedOn", nil)

	// Reports: approve the submitted ones, file new ones.
	submitted := s.recentRecords(sReports, func(i int, _ int64) bool { return s.fieldString(sReports, i, "status") == "SUBMITTED" })
	for _, i := range submitted {
		update("reports", s.w.id(sReports, i), "status", "APPROVED")
	}
	j := insert("reports", 2)
	for k := range 2 {
		update("reports", s.w.id(sReports, j+k), "status", "SUBMITTED")
	}
	return c
}

// recentRecords returns the indexes of stream si's records dated within
// the two days before its latest record (by the generator's time field)
// for which keep holds.
func (s *Server) recentRecords(si int, keep func(i int, t int64) bool) []int {
	n := s.size(si)
	if n == 0 {
		return nil
	}
	end := s.w.baseTime(si, n-1)
	var out []int
	for i := n - 1; i >= 0; i-- {
		t := s.w.baseTime(si, i)
		if t < end-recent {
			break
		}
		if keep(i, t) {
			out = append(out, i)
		}
	}
	return out
}

// timeOf returns record i's time field (with Update's changes), in Unix
// seconds.
func (s *Server) timeOf(si, i int) int64 {
	s.dmu.RLock()
	defer s.dmu.RUnlock()
	d := s.w.defs[si]
	var rw row
	rw.reset(len(d.fields))
	d.fill(s.w, &rw, i)
	s.applyOverlay(&rw, si, i)
	t, _ := timeOf(&rw, &rw.v[d.timeField])
	return t
}

// fieldString returns record i's string field (with Update's changes).
func (s *Server) fieldString(si, i int, field string) string {
	s.dmu.RLock()
	defer s.dmu.RUnlock()
	d := s.w.defs[si]
	var rw row
	rw.reset(len(d.fields))
	d.fill(s.w, &rw, i)
	s.applyOverlay(&rw, si, i)
	str, _ := rw.str(&rw.v[d.fieldIdx[field]])
	return str
}

// size returns the number of record indexes of stream si, deleted records
// included: the index the next appended record gets.
func (s *Server) size(si int) int {
	s.dmu.RLock()
	defer s.dmu.RUnlock()
	return s.count[si]
}
