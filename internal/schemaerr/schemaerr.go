// Package schemaerr walks the failures of a JSON Schema validation, for the
// host and the SDK, which both word them for config errors.
package schemaerr

import "github.com/santhosh-tekuri/jsonschema/v6"

// Leaves returns the failures under e that have no causes of their own, in
// the order of the tree: the ones worth reporting.
func Leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, Leaves(c)...)
	}
	return out
}
