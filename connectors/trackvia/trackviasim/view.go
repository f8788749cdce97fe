package trackviasim

import (
	"sort"
	"strconv"
	"time"
)

// vfield is a field as the server holds it.
type vfield struct {
	field
	role        role
	choicesJSON []string // Choices, JSON-escaped
}

// appendBatch records when records from index start on were appended.
type appendBatch struct {
	start int
	at    time.Time
}

// viewState is one view (or the users list): its structure and the
// mutations on top of the generated records. Record index idx has id
// idBase+idx; indices in deleted are skipped.
type viewState struct {
	view      View
	idBase    int64
	isUsers   bool
	fields    []vfield
	structure []byte // the JSON array, rebuilt by setFields
	initial   int    // records generated at Start
	count     int    // indices in use: initial plus appended
	appends   []appendBatch
	deleted   []int                    // sorted indices
	overrides map[int]map[int64][]byte // index -> fieldMetaId -> raw JSON
	touched   map[int]time.Time        // index -> Last Updated after Update
}

func (v *viewState) idOf(idx int) int64 { return v.idBase + int64(idx) }

// live is the number of records a page reports as totalCount.
func (v *viewState) live() int { return v.count - len(v.deleted) }

// seek returns the index of the record at position pos and how many
// deleted indices lie before it.
func (v *viewState) seek(pos int) (idx, del int) {
	idx = pos
	for del < len(v.deleted) && v.deleted[del] <= idx {
		idx++
		del++
	}
	return idx, del
}

// indexOf returns the index of the live record with id.
func (v *viewState) indexOf(id int64) (int, bool) {
	idx := id - v.idBase
	if idx < 0 || idx >= int64(v.count) {
		return 0, false
	}
	i := int(idx)
	if k := sort.SearchInts(v.deleted, i); k < len(v.deleted) && v.deleted[k] == i {
		return 0, false
	}
	return i, true
}

// created is the creation time of record idx: spread over two years from
// epoch for the records of Start, the Append time for later ones.
func (v *viewState) created(seed uint64, idx int) time.Time {
	if idx >= v.initial {
		for i := len(v.appends) - 1; i >= 0; i-- {
			if idx >= v.appends[i].start {
				return v.appends[i].at
			}
		}
	}
	step := span / time.Duration(max(v.initial, 1))
	jitter := hash4(seed, uint64(v.view.ID), 0, uint64(idx)) % uint64(step/time.Second+1)
	return epoch.Add(time.Duration(idx)*step + time.Duration(jitter)*time.Second).Truncate(time.Second)
}

// updated is the "Last Updated" time of record idx: the last Update, or up
// to 90 days after creation for records of Start.
func (v *viewState) updated(seed uint64, idx int) time.Time {
	if t, ok := v.touched[idx]; ok {
		return t
	}
	c := v.created(seed, idx)
	if idx >= v.initial {
		return c
	}
	d := hash4(seed, uint64(v.view.ID), 1, uint64(idx)) % (90 * 86400)
	return c.Add(time.Duration(d) * time.Second)
}

// setFields replaces the structure and rebuilds its JSON.
func (v *viewState) setFields(fields []vfield) {
	for i := range fields {
		fields[i].role = roleOf(fields[i].Field)
		fields[i].choicesJSON = esc(fields[i].Choices...)
	}
	v.fields = fields
	b := []byte{'['}
	for i := range fields {
		fd := &fields[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, fd.Name)
		b = append(b, `,"type":`...)
		b = appendString(b, string(fd.Type))
		b = append(b, `,"required":`...)
		b = strconv.AppendBool(b, fd.Required)
		b = append(b, `,"unique":`...)
		b = strconv.AppendBool(b, fd.Unique)
		b = append(b, `,"canRead":true,"canUpdate":`...)
		b = strconv.AppendBool(b, !fd.ReadOnly)
		b = append(b, `,"canCreate":`...)
		b = strconv.AppendBool(b, !fd.ReadOnly)
		b = append(b, `,"choices":[`...)
		for j, c := range fd.Choices {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, c)
		}
		b = append(b, `],"fieldMetaId":`...)
		b = strconv.AppendInt(b, fd.FieldMetaID, 10)
		b = append(b, '}')
	}
	v.structure = append(b, ']')
}

func (v *viewState) field(name string) *vfield {
	for i := range v.fields {
		if v.fields[i].Name == name {
			return &v.fields[i]
		}
	}
	return nil
}
