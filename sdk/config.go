package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/quiver-etl/quiver/internal/schemaerr"
)

// DecodeConfig validates raw, a connector's config as JSON, against schema,
// the connector's JSON Schema (Spec.ConfigSchema, the one the host checks
// configs with); sets the schema's default values on the keys raw leaves
// out (top-level and in nested objects, through "properties"); and decodes
// the result into v with encoding/json. Keys the schema allows but v does
// not have are ignored; a schema with "additionalProperties": false refuses
// unknown keys. An empty raw is the empty object, and a key set to null
// (a YAML key with no value) is taken as left out.
//
// Errors wrap ErrConfig, name every key that is wrong and never quote a
// value of raw, since some are secrets. An UnmarshalJSON method of v's types
// must not quote its input either. A schema that does not compile is the
// connector's bug and is returned without ErrConfig.
func DecodeConfig(raw []byte, v any, schema []byte) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return fmt.Errorf("config schema: %w", err)
	}
	comp := jsonschema.NewCompiler()
	if err := comp.AddResource("config.schema.json", doc); err != nil {
		return fmt.Errorf("config schema: %w", err)
	}
	sch, err := comp.Compile("config.schema.json")
	if err != nil {
		return fmt.Errorf("config schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		// The decoder's message may quote a character of the input.
		return fmt.Errorf("config is not a JSON document: %w", ErrConfig)
	}
	dropNulls(inst)
	var ve *jsonschema.ValidationError
	if err := sch.Validate(inst); errors.As(err, &ve) {
		return fmt.Errorf("config: %s: %w", strings.Join(problems(ve, doc), "; "), ErrConfig)
	} else if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	applyDefaults(inst, doc)
	full, err := json.Marshal(inst)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := json.Unmarshal(full, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// te.Value may hold the number that did not fit.
			return fmt.Errorf("config: %s does not fit a Go %s: %w", te.Field, te.Type, ErrConfig)
		}
		return fmt.Errorf("config: %v: %w", err, ErrConfig)
	}
	return nil
}

// problems words each failure of a validation, sorted, naming the key
// (like "views[0]" or "auth.token") and never the value.
func problems(ve *jsonschema.ValidationError, schema any) []string {
	p := message.NewPrinter(language.English)
	var out []string
	for _, leaf := range schemaerr.Leaves(ve) {
		at := keyPath(leaf.InstanceLocation)
		switch k := leaf.ErrorKind.(type) {
		case *kind.Required:
			for _, m := range k.Missing {
				out = append(out, join(at, m)+" is required")
			}
		case *kind.AdditionalProperties:
			keys := strings.Join(schemaKeys(schema, leaf.InstanceLocation), ", ")
			for _, u := range k.Properties {
				out = append(out, fmt.Sprintf("unknown key %q; the keys are: %s", join(at, u), keys))
			}
		case *kind.MinLength:
			if k.Got == 0 {
				out = append(out, at+" is required and must not be empty")
			} else {
				out = append(out, fmt.Sprintf("%s is shorter than %d characters", at, k.Want))
			}
		case *kind.Minimum:
			out = append(out, fmt.Sprintf("%s is below its minimum %s", at, k.Want.RatString()))
		case *kind.Maximum:
			out = append(out, fmt.Sprintf("%s is above its maximum %s", at, k.Want.RatString()))
		case *kind.ExclusiveMinimum:
			out = append(out, fmt.Sprintf("%s must be above %s", at, k.Want.RatString()))
		case *kind.ExclusiveMaximum:
			out = append(out, fmt.Sprintf("%s must be below %s", at, k.Want.RatString()))
		case *kind.MultipleOf:
			out = append(out, fmt.Sprintf("%s is not a multiple of %s", at, k.Want.RatString()))
		case *kind.MaxLength:
			out = append(out, fmt.Sprintf("%s is longer than %d characters", at, k.Want))
		case *kind.Pattern:
			out = append(out, fmt.Sprintf("%s does not match the pattern %s", at, k.Want))
		default: // the other kinds word the wanted values or types, not the value

			out = append(out, at+": "+leaf.ErrorKind.LocalizedString(p))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// keyPath writes an instance location as a config key: "views[0]",
// "auth.token"; the top level is "config".
func keyPath(loc []string) string {
	var b strings.Builder
	for _, k := range loc {
		if _, err := strconv.Atoi(k); err == nil {
			b.WriteString("[" + k + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(k)
	}
	if b.Len() == 0 {
		return "config"
	}
	return b.String()
}

// join names key inside the object at (as keyPath words it).
func join(at, key string) string {
	if at == "config" {
		return key
	}
	return at + "." + key
}

// properties returns the "properties" of a schema object, or nil.
func properties(schema any) map[string]any {
	m, _ := schema.(map[string]any)
	props, _ := m["properties"].(map[string]any)
	return props
}

// schemaKeys returns the property names the schema declares for the object
// at loc, sorted.
func schemaKeys(schema any, loc []string) []string {
	for _, k := range loc {
		schema = properties(schema)[k]
	}
	keys := make([]string, 0, len(properties(schema)))
	for k := range properties(schema) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// dropNulls deletes the keys set to null from the objects in inst.
func dropNulls(inst any) {
	switch v := inst.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			dropNulls(e)
		}
	case []any:
		for _, e := range v {
			dropNulls(e)
		}
	}
}

// applyDefaults sets the schema's "default" of every property inst lacks,
// and recurses into the nested objects inst has.
func applyDefaults(inst, schema any) {
	obj, ok := inst.(map[string]any)
	if !ok {
		return
	}
	for k, sub := range properties(schema) {
		if val, set := obj[k]; set {
			applyDefaults(val, sub)
			continue
		}
		m, _ := sub.(map[string]any)
		if def, ok := m["default"]; ok {
			obj[k] = def
		}
	}
}
