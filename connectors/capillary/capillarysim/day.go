package capillarysim

import "fmt"

// saltDay separates the draws of ApplyDay from the generated data.
const saltDay = 0xda7

// DayChanges counts what ApplyDay did, per stream.
type DayChanges struct {
	Inserted, Updated map[string]int
}

// ApplyDay applies one day of changes, as an org's stores and members make
// them, and returns what it did. The changes depend only on Options.Seed
// and how many days were applied before. A day changes about one customer
// in twenty (a new tier, points earned or spent, a corrected last name;
// each moves the customer's autoUpdateTime), registers new customers, and
// bills new transactions (billed now, by Options.Now). Transactions are
// not edited and nothing is deleted: Capillary's history does not change
// a bill once it is in, and a return is a new transaction.
func (s *Server) ApplyDay() DayChanges {
	d := s.data
	d.mu.Lock()
	day := d.days
	d.days++
	d.mu.Unlock()
	c := DayChanges{Inserted: map[string]int{}, Updated: map[string]int{}}
	r := rng{mix3(d.seed, saltDay, uint64(day))}
	n := s.Count(StreamCustomers)
	for range max(1, n/20) {
		id := FirstUserID + int64(r.intn(n))
		var err error
		switch r.intn(3) {
		case 0:
			err = s.Update(StreamCustomers, id, "currentSlab", slabs[r.intn(len(slabs))])
		case 1:
			err = s.Update(StreamCustomers, id, "loyaltyPoints", r.intn(5000))
		default:
			err = s.Update(StreamCustomers, id, "lastName", fmt.Sprintf("%s-%d", lastNames[r.intn(len(lastNames))], day+1))
		}
		if err == nil {
			c.Updated[StreamCustomers]++
		}
	}
	if ids, err := s.Append(StreamCustomers, max(1, n/50)); err == nil {
		c.Inserted[StreamCustomers] += len(ids)
	}
	if ids, err := s.Append(StreamTransactions, max(1, n/10)); err == nil {
		c.Inserted[StreamTransactions] += len(ids)
	}
	return c
}
