package harvestsim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// The streams a server lists, each under /v2/<name>; the name is also the
// key of the records array in a page, as Harvest's envelope has it.
const (
	StreamClients     = "clients"
	StreamProjects    = "projects"
	StreamTasks       = "tasks"
	StreamTimeEntries = "time_entries"
	StreamUsers       = "users"
)

// Streams returns the stream names, sorted.
func Streams() []string {
	return []string{StreamClients, StreamProjects, StreamTasks, StreamTimeEntries, StreamUsers}
}

// defaultCounts are the records per stream at start when Options.Counts
// leaves a stream out: a small agency's account.
var defaultCounts = map[string]int{
	StreamClients: 20, StreamProjects: 60, StreamTasks: 25, StreamTimeEntries: 3000, StreamUsers: 30,
}

// Epoch is when the generated account's history starts: every generated
// created_at and spent_date is in the year from Epoch, and day d of
// ApplyDay (from 0) happens on Epoch + 365 + d days. The data does not
// depend on the clock.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// firstID is the first id of each stream; Harvest's ids are large and
// ascend with gaps.
var firstID = map[string]int64{
	StreamClients: 5735774, StreamProjects: 14307913, StreamTasks: 8083365, StreamTimeEntries: 636708723, StreamUsers: 1782884,
}

// A record is one generated record as its JSON object. Records are only
// changed under the data lock, and copied out by encoding them.
type record map[string]any

// data is a server's generated account.
type data struct {
	seed uint64
	recs map[string][]record // per stream, ascending id
	days int                 // days applied
	// enc caches each record's JSON by stream and id; a change deletes
	// the record's entry.
	enc map[string]map[int64]json.RawMessage
}

// encoded returns rec's JSON.
func (d *data) encoded(stream string, rec record) json.RawMessage {
	id := rec["id"].(int64)
	if b, ok := d.enc[stream][id]; ok {
		return b
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err) // records hold only JSON values
	}
	if d.enc[stream] == nil {
		d.enc[stream] = map[int64]json.RawMessage{}
	}
	d.enc[stream][id] = b
	return b
}

func newData(seed uint64, counts map[string]int) (*data, error) {
	d := &data{seed: seed, recs: map[string][]record{}, enc: map[string]map[int64]json.RawMessage{}}
	n := map[string]int{}
	for _, st := range Streams() {
		n[st] = defaultCounts[st]
	}
	for st, c := range counts {
		if _, ok := n[st]; !ok {
			return nil, fmt.Errorf("harvestsim: Options.Counts: unknown stream %q", st)
		}
		if c < 0 {
			return nil, fmt.Errorf("harvestsim: Options.Counts: %s: %d records", st, c)
		}
		n[st] = c
	}
	// Time entries refer to users, clients, projects and tasks, so those
	// come first; an empty one leaves the references null.
	for _, st := range []string{StreamUsers, StreamClients, StreamProjects, StreamTasks, StreamTimeEntries} {
		r := d.rng(st, 0)
		for range n[st] {
			d.add(st, r, Epoch.Add(time.Duration(r.Int64N(int64(365*24*time.Hour)))).Truncate(time.Second))
		}
		d.sortByCreation(st) // generated in no time order; ids follow creation
	}
	return d, nil
}

// rng returns the random source of stream's draws for day (0 for the
// generated start).
func (d *data) rng(stream string, day int) *rand.Rand {
	h := fnv.New64a()
	_, _ = h.Write([]byte(stream))
	return rand.New(rand.NewPCG(d.seed, h.Sum64()^uint64(day)<<32))
}

// sortByCreation renumbers stream's records so that ids ascend with
// created_at.
func (d *data) sortByCreation(stream string) {
	recs := d.recs[stream]
	slices.SortStableFunc(recs, func(a, b record) int { return strings.Compare(a["created_at"].(string), b["created_at"].(string)) })
	id := firstID[stream]
	for i, rec := range recs {
		id += 1 + int64(i%7)
		rec["id"] = id
	}
}

// nextID returns the id after stream's last.
func (d *data) nextID(stream string) int64 {
	recs := d.recs[stream]
	if len(recs) == 0 {
		return firstID[stream]
	}
	return recs[len(recs)-1]["id"].(int64) + 1 + int64(len(recs)%5)
}

var (
	firstNames = []string{"Ada", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kemal", "Lena"}
	lastNames  = []string{"Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Novak", "Byrne", "Costa", "Weber", "Haddad"}
	roles      = []string{"Design", "Engineering", "Management", "Strategy"}
	companies  = []string{"Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Acme", "Hooli", "Vandelay"}
	taskNames  = []string{"Design", "Development", "Meetings", "Project Management", "Research", "Testing", "Travel", "Writing"}
	currencies = []string{"EUR", "USD", "GBP"}
	notes      = []string{"Kick-off", "Review with client", "Sprint work", "Fixes after QA", "Workshop", ""}
)

// stamp formats t as Harvest's datetimes: RFC 3339, UTC, whole seconds.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// add appends a new record to stream, created at created.
func (d *data) add(stream string, r *rand.Rand, created time.Time) {
	id := d.nextID(stream)
	rec := record{"id": id, "created_at": stamp(created), "updated_at": stamp(created.Add(time.Duration(r.IntN(48*3600)) * time.Second))}
	switch stream {
	case StreamUsers:
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		rec["first_name"], rec["last_name"] = first, last
		rec["email"] = fmt.Sprintf("%s.%s%d@example.com", first, last, id%1000)
		rec["is_active"] = r.IntN(10) > 0
		rec["is_contractor"] = r.IntN(5) == 0
		rec["weekly_capacity"] = int64(35+r.IntN(6)) * 3600
		rec["default_hourly_rate"] = float64(60 + 5*r.IntN(20))
		rec["cost_rate"] = float64(30 + 5*r.IntN(10))
		rec["roles"] = []string{roles[r.IntN(len(roles))]}
	case StreamClients:
		rec["name"] = fmt.Sprintf("%s %d", companies[r.IntN(len(companies))], id%100)
		rec["is_active"] = r.IntN(8) > 0
		rec["currency"] = currencies[r.IntN(len(currencies))]
		rec["address"] = fmt.Sprintf("%d Main Street", 1+r.IntN(200))
	case StreamProjects:
		rec["name"] = fmt.Sprintf("%s phase %d", taskNames[r.IntN(len(taskNames))], 1+r.IntN(4))
		rec["code"] = fmt.Sprintf("P%04d", id%10000)
		rec["client"] = d.ref(StreamClients, r)
		rec["is_active"] = r.IntN(6) > 0
		rec["is_billable"] = r.IntN(5) > 0
		rec["bill_by"] = []string{"Project", "Tasks", "People", "none"}[r.IntN(4)]
		rec["budget"] = nil
		if r.IntN(2) == 0 {
			rec["budget"] = float64(20 * (1 + r.IntN(50)))
		}
		rec["hourly_rate"] = float64(80 + 10*r.IntN(8))
		rec["starts_on"] = created.Format(time.DateOnly)
	case StreamTasks:
		rec["name"] = fmt.Sprintf("%s %d", taskNames[r.IntN(len(taskNames))], id%100)
		rec["billable_by_default"] = r.IntN(4) > 0
		rec["default_hourly_rate"] = float64(50 + 10*r.IntN(10))
		rec["is_default"] = r.IntN(3) == 0
		rec["is_active"] = r.IntN(10) > 0
	case StreamTimeEntries:
		hours := float64(1+r.IntN(32)) / 4
		rec["spent_date"] = created.Format(time.DateOnly)
		rec["hours"] = hours
		rec["rounded_hours"] = hours
		rec["notes"] = notes[r.IntN(len(notes))]
		rec["user"] = d.ref(StreamUsers, r)
		rec["client"] = d.ref(StreamClients, r)
		rec["project"] = d.ref(StreamProjects, r)
		rec["task"] = d.ref(StreamTasks, r)
		rec["is_locked"] = false
		rec["is_billed"] = r.IntN(3) == 0
		rec["is_running"] = false
		rec["billable"] = r.IntN(5) > 0
		rec["billable_rate"] = float64(80 + 10*r.IntN(8))
		rec["cost_rate"] = float64(30 + 5*r.IntN(10))
	}
	d.recs[stream] = append(d.recs[stream], rec)
}

// ref returns {"id", "name"} of a random record of stream, or nil when it
// has none.
func (d *data) ref(stream string, r *rand.Rand) any {
	recs := d.recs[stream]
	if len(recs) == 0 {
		return nil
	}
	rec := recs[r.IntN(len(recs))]
	name, _ := rec["name"].(string)
	if stream == StreamUsers {
		name = rec["first_name"].(string) + " " + rec["last_name"].(string)
	}
	return map[string]any{"id": rec["id"], "name": name}
}

// DayChanges counts what ApplyDay did, per stream.
type DayChanges struct {
	Inserted, Updated map[string]int
}

// applyDay applies the next day of changes: about one time entry in
// twenty edited (hours, notes or billed), a project and a client renamed
// or archived now and then, and a day's new time entries. Each edit moves
// the record's updated_at to the day. Nothing is deleted: a deleted time
// entry simply stops appearing, and an updated_since listing cannot show
// that (docs/vendors/harvest.md#incremental-sync).
func (d *data) applyDay() DayChanges {
	day := d.days
	d.days++
	at := Epoch.AddDate(0, 0, 365+day)
	r := d.rng("day", day+1)
	c := DayChanges{Inserted: map[string]int{}, Updated: map[string]int{}}
	edit := func(stream string, n int, change func(record)) {
		recs := d.recs[stream]
		for range min(n, len(recs)) {
			rec := recs[r.IntN(len(recs))]
			change(rec)
			delete(d.enc[stream], rec["id"].(int64))
			rec["updated_at"] = stamp(at.Add(time.Duration(r.IntN(86400)) * time.Second))
			c.Updated[stream]++
		}
	}
	edit(StreamTimeEntries, max(1, len(d.recs[StreamTimeEntries])/20), func(rec record) {
		switch r.IntN(3) {
		case 0:
			h := float64(1+r.IntN(32)) / 4
			rec["hours"], rec["rounded_hours"] = h, h
		case 1:
			rec["notes"] = fmt.Sprintf("%s (edited day %d)", notes[r.IntN(len(notes))], day+1)
		default:
			rec["is_billed"] = true
		}
	})
	edit(StreamProjects, 2, func(rec record) { rec["is_active"] = r.IntN(2) == 0 })
	edit(StreamClients, 1, func(rec record) { rec["name"] = fmt.Sprintf("%s (renamed day %d)", rec["name"], day+1) })
	for range max(1, len(d.recs[StreamTimeEntries])/100) {
		d.add(StreamTimeEntries, r, at.Add(time.Duration(r.IntN(86400))*time.Second))
		c.Inserted[StreamTimeEntries]++
	}
	return c
}
