package trackviasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Apps returns the simulated applications.
func (s *Server) Apps() []App {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.apps)
}

// Views returns the simulated views in listing order (users not included).
func (s *Server) Views() []View {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]View, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.views[id].view)
	}
	return out
}

// Structure returns the current fields of view viewID (UsersViewID: the
// users structure), or nil for an unknown view.
func (s *Server) Structure(viewID int64) []Field {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.views[viewID]
	if v == nil {
		return nil
	}
	out := make([]Field, len(v.fields))
	for i, fd := range v.fields {
		out[i] = fd.Field
		out[i].Choices = slices.Clone(fd.Choices)
	}
	return out
}

// Count returns the number of records of view viewID, as totalCount reports it.
func (s *Server) Count(viewID int64) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if v := s.views[viewID]; v != nil {
		return v.live()
	}
	return 0
}

// IDs returns the ids of the records of view viewID in page order.
func (s *Server) IDs(viewID int64) []int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.views[viewID]
	if v == nil {
		return nil
	}
	out := make([]int64, 0, v.live())
	del := 0
	for idx := range v.count {
		if del < len(v.deleted) && v.deleted[del] == idx {
			del++
			continue
		}
		out = append(out, v.idOf(idx))
	}
	return out
}

// Record returns the i-th record (0-based page order) of view viewID as
// decoded JSON, exactly as a page would carry it, or nil if there is none.
// JSON numbers decode as float64.
func (s *Server) Record(viewID int64, i int) map[string]any {
	s.mu.RLock()
	v := s.views[viewID]
	if v == nil || i < 0 || i >= v.live() {
		s.mu.RUnlock()
		return nil
	}
	idx, _ := v.seek(i)
	b := s.appendRecord(nil, v, idx)
	s.mu.RUnlock()
	return decode(b)
}

// RecordJSON returns record i of view viewID as the API serves it, or nil
// if there is none: the raw JSON, for tests that compare values kept as
// the vendor sent them.
func (s *Server) RecordJSON(viewID int64, i int) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.views[viewID]
	if v == nil || i < 0 || i >= v.live() {
		return nil
	}
	idx, _ := v.seek(i)
	return s.appendRecord(nil, v, idx)
}

// RecordByID returns the record with id in view viewID as decoded JSON, or
// nil if there is none.
func (s *Server) RecordByID(viewID, id int64) map[string]any {
	s.mu.RLock()
	v := s.views[viewID]
	if v == nil {
		s.mu.RUnlock()
		return nil
	}
	idx, ok := v.indexOf(id)
	if !ok {
		s.mu.RUnlock()
		return nil
	}
	b := s.appendRecord(nil, v, idx)
	s.mu.RUnlock()
	return decode(b)
}

func decode(b []byte) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil // cannot happen: appendRecord writes valid JSON
	}
	return m
}

// Append adds n records at the end of view viewID, created (and last
// updated) at Options.Now.
func (s *Server) Append(viewID int64, n int) error {
	if n < 0 {
		return fmt.Errorf("trackviasim: append %d records: negative count", n)
	}
	now := s.opts.Now().Truncate(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.view(viewID)
	if err != nil {
		return fmt.Errorf("trackviasim: append: %w", err)
	}
	if n > 0 {
		v.appends = append(v.appends, appendBatch{start: v.count, at: now})
		v.count += n
	}
	return nil
}

// Update sets field of record id in view viewID to value (encoded with
// encoding/json; nil is null) and moves its "Last Updated" to Options.Now.
// The id and identifier fields cannot be changed.
func (s *Server) Update(viewID, id int64, field string, value any) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("trackviasim: update %q of record %d: %w", field, id, err)
	}
	now := s.opts.Now().Truncate(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, idx, err := s.record(viewID, id)
	if err != nil {
		return fmt.Errorf("trackviasim: update: %w", err)
	}
	fd := v.field(field)
	switch {
	case fd == nil:
		return fmt.Errorf("trackviasim: update: view %d has no field %q", viewID, field)
	case fd.role == roleInternalID || fd.role == roleRecordID:
		return fmt.Errorf("trackviasim: update: field %q holds the record id", field)
	}
	if v.overrides[idx] == nil {
		v.overrides[idx] = map[int64][]byte{}
	}
	v.overrides[idx][fd.FieldMetaID] = raw
	v.touched[idx] = now
	return nil
}

// Delete removes record id from view viewID.
func (s *Server) Delete(viewID, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, idx, err := s.record(viewID, id)
	if err != nil {
		return fmt.Errorf("trackviasim: delete: %w", err)
	}
	k := sort.SearchInts(v.deleted, idx)
	v.deleted = slices.Insert(v.deleted, k, idx)
	delete(v.overrides, idx)
	delete(v.touched, idx)
	return nil
}

// SetStructure replaces the fields of view viewID; records follow at once.
// A field keeps its values (and Update overrides) as long as its
// FieldMetaID stays; FieldMetaID 0 gets a fresh id and fresh values.
// Names must be unique and non-empty.
func (s *Server) SetStructure(viewID int64, fields []Field) error {
	_, err := s.editFields(viewID, "set structure", func([]Field) ([]Field, error) { return fields, nil })
	return err
}

// AddField appends a field of type t named name to view viewID and returns
// it; every record gets a value for it.
func (s *Server) AddField(viewID int64, name string, t FieldType) (Field, error) {
	fields, err := s.editFields(viewID, "add field "+strconv.Quote(name), func(fields []Field) ([]Field, error) {
		return append(fields, Field{Name: name, Type: t}), nil
	})
	if err != nil {
		return Field{}, err
	}
	return fields[len(fields)-1], nil
}

// RemoveField drops field name from view viewID and from its records.
func (s *Server) RemoveField(viewID int64, name string) error {
	_, err := s.editFields(viewID, "remove field "+strconv.Quote(name), func(fields []Field) ([]Field, error) {
		i, err := fieldIndex(fields, name)
		if err != nil {
			return nil, err
		}
		return slices.Delete(fields, i, i+1), nil
	})
	return err
}

// RenameField renames field from to to in view viewID; its fieldMetaId and
// values stay (TrackVia fields are user-renamable,
// docs/vendors/trackvia.md#quirks).
func (s *Server) RenameField(viewID int64, from, to string) error {
	_, err := s.editFields(viewID, "rename field "+strconv.Quote(from), func(fields []Field) ([]Field, error) {
		i, err := fieldIndex(fields, from)
		if err != nil {
			return nil, err
		}
		fields[i].Name = to
		return fields, nil
	})
	return err
}

// editFields replaces the fields of view viewID with edit's result and
// returns the new fields; what names the change in errors.
func (s *Server) editFields(viewID int64, what string, edit func([]Field) ([]Field, error)) ([]Field, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.view(viewID)
	if err != nil {
		return nil, fmt.Errorf("trackviasim: %s: %w", what, err)
	}
	fields, err := edit(s.fieldsOf(v))
	if err == nil {
		err = s.setStructure(v, fields)
	}
	if err != nil {
		return nil, fmt.Errorf("trackviasim: %s of view %d: %w", what, viewID, err)
	}
	return s.fieldsOf(v), nil
}

func fieldIndex(fields []Field, name string) (int, error) {
	i := slices.IndexFunc(fields, func(fd Field) bool { return fd.Name == name })
	if i < 0 {
		return 0, errors.New("no such field")
	}
	return i, nil
}

func (s *Server) view(id int64) (*viewState, error) {
	v := s.views[id]
	if v == nil {
		return nil, fmt.Errorf("no view %d", id)
	}
	return v, nil
}

// record finds the live record id of view viewID; the caller holds s.mu.
func (s *Server) record(viewID, id int64) (*viewState, int, error) {
	v, err := s.view(viewID)
	if err != nil {
		return nil, 0, err
	}
	idx, ok := v.indexOf(id)
	if !ok {
		return nil, 0, fmt.Errorf("view %d has no record %d", viewID, id)
	}
	return v, idx, nil
}

func (s *Server) fieldsOf(v *viewState) []Field {
	out := make([]Field, len(v.fields))
	for i, fd := range v.fields {
		out[i] = fd.Field
	}
	return out
}

// defaultChoices fill dropDown and checkbox fields declared without any.
var defaultChoices = []string{"Option A", "Option B", "Option C"}

// setStructure validates fields and installs them; the caller holds s.mu.
func (s *Server) setStructure(v *viewState, fields []Field) error {
	old := map[int64]vfield{}
	for _, fd := range v.fields {
		old[fd.FieldMetaID] = fd
	}
	seen := map[string]bool{}
	seenMeta := map[int64]bool{}
	out := make([]vfield, 0, len(fields))
	next := s.nextMeta
	for _, fd := range fields {
		switch {
		case fd.Name == "":
			return errors.New("empty field name")
		case fd.Type == "":
			return fmt.Errorf("field %q has no type", fd.Name)
		case seen[fd.Name]:
			return fmt.Errorf("duplicate field name %q", fd.Name)
		}
		seen[fd.Name] = true
		if fd.FieldMetaID != 0 {
			if seenMeta[fd.FieldMetaID] {
				return fmt.Errorf("duplicate fieldMetaId %d", fd.FieldMetaID)
			}
			seenMeta[fd.FieldMetaID] = true
		}
		fd.Choices = slices.Clone(fd.Choices)
		if len(fd.Choices) == 0 && (fd.Type == DropDown || fd.Type == Checkbox) {
			fd.Choices = slices.Clone(defaultChoices)
		}
		vf := vfield{field: field{Field: fd}}
		if prev, ok := old[fd.FieldMetaID]; ok && fd.FieldMetaID != 0 {
			vf.gen, vf.target = prev.gen, prev.target
		} else {
			if fd.FieldMetaID == 0 {
				vf.FieldMetaID = next
				next++
			}
			if fd.Type == Relationship {
				vf.target = ViewAllContacts
			}
		}
		out = append(out, vf)
	}
	for _, fd := range out {
		if fd.FieldMetaID >= next {
			next = fd.FieldMetaID + 1
		}
	}
	s.nextMeta = next
	v.setFields(out)
	return nil
}
